import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainOf } from '../../lib/audit-chain.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * What issue 18's speed-ups must keep: a decision the approver was told counted is durable (Temporal's history is
 * the record), and its audit entry follows. Here the worker process that took the first step's decision is
 * SIGKILLed while its audit writes wait on the run's audit chain (held by this test), with the next step opening
 * (its requests carry the decision's record): the entry still appears exactly once, before what followed from it,
 * the chain verifies, and the run's mails and its purchase order are not repeated.
 */
describe('a decision acknowledged, then the worker killed before its audit write', () => {
  let stack: Stack;
  let chainHolder: pg.Client;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    chainHolder = new pg.Client({ connectionString: stack.runtimeDatabaseUrl });
    await chainHolder.connect();
  });
  afterAll(async () => {
    await chainHolder?.end();
    await stack?.stop();
  });

  /** Sessions waiting for an advisory lock: the worker's audit transaction, blocked behind the test's hold on the chain. */
  const blockedAuditWriters = async () =>
    Number((await chainHolder.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`)).rows[0]!.n);

  it('appears once, in order, with one PO and no mail twice', async () => {
    const worker = await stack.startWorkerProcess();
    const title = 'Killed before the audit';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 25_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    await waitUntil(async () => (await stack.db.auditEntry.count({ where: { runId, action: 'approval.requested' } })) === 1 || undefined, 'the request audited');

    // From here every audit write of this run waits: the run's chain lock is the first statement of each.
    await chainHolder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [chainOf(runId)]);
    const answer = await submitDecision(link, 'approve');
    expect(answer.status).toBe(200);
    expect(answer.html).toContain('you approved');
    await waitUntil(async () => (await blockedAuditWriters()) > 0 || undefined, "the decision's audit write under way");

    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
    await chainHolder.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [chainOf(runId)]);
    const decided = () => stack.db.auditEntry.count({ where: { runId, action: 'approval.decided' } });
    expect(await decided()).toBe(0);

    // The history holds the decision: another worker writes its record (once the dead one's attempts time out) and goes on.
    await stack.startWorker();
    const next = await waitForApprovalMail(stack, approvers.financeDirector, { subject: new RegExp(title), timeoutMs: 90_000 });
    expect((await submitDecision(next.link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed', 90_000);

    expect(await decided()).toBe(2);
    const audit = await stack.db.auditEntry.findMany({ where: { runId }, orderBy: { seq: 'asc' } });
    const steps = audit.filter((e) => e.action.startsWith('approval.')).map((e) => `${e.action} ${e.step}`);
    expect(steps).toEqual([
      'approval.requested line-manager',
      'approval.decided line-manager',
      'approval.requested finance-director',
      'approval.decided finance-director',
    ]);
    expect(audit.filter((e) => e.action === 'run.completed')).toHaveLength(1);
    expect(audit.at(-1)!.action).toBe('run.completed');
    const verification = await getJson(`${stack.apiUrl}/runs/${runId}/audit/verify`);
    expect(verification.body).toMatchObject({ runId, ok: true, entries: audit.length, firstBroken: null });
    const requests = await stack.db.approvalRequest.findMany({ where: { runId }, orderBy: { createdAt: 'asc' } });
    expect(requests.map((r) => [r.decidedBy, r.decision])).toEqual([
      [approvers.lineManager, 'approved'],
      [approvers.financeDirector, 'approved'],
    ]);

    expect(stack.simulators.erp.purchaseOrders().filter((po) => po.reference === runId)).toHaveLength(1);
    // The requester is told after the run is recorded as completed.
    await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && m.subject.includes(title), { timeoutMs: 20_000 });
    const mails = stack.mail.messages().filter((m) => m.subject.includes(title));
    expect(mails.filter((m) => m.to.includes(approvers.lineManager))).toHaveLength(1);
    expect(mails.filter((m) => m.to.includes(approvers.financeDirector))).toHaveLength(1);
    expect(mails.filter((m) => m.to.includes(approvers.requester))).toHaveLength(1);
    expect(await stack.db.outboundEmail.count({ where: { runId } })).toBe(3);
  });
});
