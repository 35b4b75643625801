import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyLinkToken } from '../../lib/tokens.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { currentVersion, getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { DECIDE_UPDATE, type DecisionInput, type DecisionResult } from '../../processes/approval-messages.js';
import { startStack, type Stack } from '../support/stack.js';

describe('approval links refuse what they must and decide exactly once', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function startSmallCapex(title: string, settings: object = quickTiming) {
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 2_500 }), settings });
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    return { runId: body.runId as string, link };
  }

  it('refuses forged and malformed tokens with a clear page and no stack trace', async () => {
    const forged = `${stack.apiUrl}/approvals/${'A'.repeat(43)}`;
    for (const url of [forged, `${stack.apiUrl}/approvals/short`, `${stack.apiUrl}/approvals/${'x'.repeat(500)}`]) {
      const get = await fetch(url);
      expect(get.status).toBe(404);
      const html = await get.text();
      expect(html).toContain('This link is not valid');
      expect(html).not.toMatch(/at .*\.ts:\d+|Error:/);
      expect((await submitDecision(url, 'approve')).status).toBe(404);
    }
  });

  it('refuses a token minted with another secret or for a request that does not exist', async () => {
    const { runId, link } = await startSmallCapex('Wrong run token');
    const otherSecret = legacyLinkToken('a-different-deployment-secret-0123456789', `${runId}:line-manager:a1:s0:r1`);
    const otherRun = legacyLinkToken(stack.config.TOKEN_SECRETS[0]!, 'capex-00000000-0000-0000-0000-000000000000:line-manager:a1:s0:r1');
    for (const token of [otherSecret, otherRun]) {
      expect((await submitDecision(`${stack.apiUrl}/approvals/${token}`, 'approve')).status).toBe(404);
    }
    const run = await getJson(`${stack.apiUrl}/runs/${runId}`);
    expect(run.body.approvals[0].state).toBe('pending');
    expect((await submitDecision(link, 'approve')).status).toBe(200);
  });

  it('a used link shows who decided and decides nothing again', async () => {
    const { runId, link } = await startSmallCapex('Used link');
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    const again = await submitDecision(link, 'reject', 'changed my mind');
    expect(again.status).toBe(409);
    expect(again.html).toMatch(/already decided/i);
    const page = await fetch(link);
    expect(page.status).toBe(409);
    const run = await getJson(`${stack.apiUrl}/runs/${runId}`);
    expect(run.body.approvals[0].decision).toBe('approved');
    expect(run.body.timeline.filter((e: { action: string }) => e.action === 'approval.decided')).toHaveLength(1);
  });

  it('a run the last health sweep found stuck but that has recovered since takes the decision', async () => {
    const { runId, link } = await startSmallCapex('Recovered since the sweep');
    // As the sweep leaves a run it found stuck, until its next pass: the post asks Temporal, which says it is healthy.
    await stack.db.run.update({ where: { id: runId }, data: { stuckSince: new Date(), stuckReason: 'workflow task failing' } });
    const answer = await submitDecision(link, 'approve');
    expect(answer.status).toBe(200);
    expect(answer.html).toContain('you approved');
    await waitForRunStatus(stack, runId, 'completed');
  });

  it('an expired link says so', async () => {
    const { runId, link } = await startSmallCapex('Expiring link', { approval: { reminderAfter: '1h', timeout: '2s', onTimeout: 'expire' } });
    await waitForRunStatus(stack, runId, 'expired', 20_000);
    const page = await fetch(link);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('expired');
    expect((await submitDecision(link, 'approve')).status).toBe(410);
  });

  it('decisions racing under different Update ids (two channels at once): the workflow’s own guard admits one', async () => {
    // Links and the API share the request id as Update id, so Temporal itself would dedupe them; a later channel may
    // not. Here each decision has its own Update id and nothing but the workflow decides which counts.
    const { runId } = await startSmallCapex('Race across channels');
    const version = await currentVersion(stack, runId);
    const { body: run } = await getJson(`${stack.apiUrl}/runs/${runId}`);
    const handle = stack.temporal.workflow.getHandle(runId);
    const decide = (decision: 'approved' | 'rejected', channel: string) =>
      handle.executeUpdate<DecisionResult, [DecisionInput]>(DECIDE_UPDATE, {
        args: [{ requestId: run.approvals[0].requestId, decision, comment: decision === 'rejected' ? 'no' : null, actorEmail: approvers.lineManager, channel: 'api', nonce: channel, version }],
        updateId: `race-${channel}`,
      });
    const outcomes = await Promise.allSettled([decide('approved', 'chat'), decide('rejected', 'mail-reply'), decide('approved', 'inbox')]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const refused of outcomes.filter((o) => o.status === 'rejected')) {
      expect((refused.reason as { cause?: { type?: string } }).cause?.type).toMatch(/^(ApprovalNotOpen|ApprovalAlreadyDecided)$/);
    }
    const closed = await waitUntil(async () => {
      const { body } = await getJson(`${stack.apiUrl}/runs/${runId}`);
      return body.status !== 'running' ? body : undefined;
    }, 'the run to close');
    expect(closed.timeline.filter((e: { action: string }) => e.action === 'approval.decided')).toHaveLength(1);
  });

  it('two concurrent POSTs on one link yield exactly one decision', async () => {
    const { runId, link } = await startSmallCapex('Race on one link');
    const results = await Promise.all([
      submitDecision(link, 'approve', 'first'),
      submitDecision(link, 'reject', 'second'),
      submitDecision(link, 'approve', 'third'),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
    const winner = results.find((r) => r.status === 200)!;
    const run = await waitUntil(async () => {
      const { body } = await getJson(`${stack.apiUrl}/runs/${runId}`);
      return body.status !== 'running' ? body : undefined;
    }, 'the run to close');
    const decision = run.approvals[0].decision as string;
    expect(winner.html).toContain(decision === 'approved' ? 'you approved' : 'you rejected');
    expect(run.timeline.filter((e: { action: string }) => e.action === 'approval.decided')).toHaveLength(1);
    expect(run.status).toBe(decision === 'approved' ? 'completed' : 'rejected');
  });

  it('records who decided, from which address and browser', async () => {
    const { runId, link } = await startSmallCapex('Audit of a link');
    expect((await submitDecision(link, 'approve', '', 'Mozilla/5.0 (Phone) Audit')).status).toBe(200);
    const entry = await waitUntil(async () => {
      const audit = await stack.db.auditEntry.findMany({ where: { runId, action: 'approval.decided' } });
      return audit[0];
    }, 'the decision audit entry');
    expect(entry).toMatchObject({ actor: approvers.lineManager, userAgent: 'Mozilla/5.0 (Phone) Audit' });
    expect(entry.ip).toMatch(/127\.0\.0\.1/);
    await expect(stack.db.$executeRaw`UPDATE "AuditEntry" SET actor = 'someone-else' WHERE id = ${entry.id}`).rejects.toThrow(/append-only/);
  });

  it('cancelling a run needs a reason, records who cancelled and why, revokes its open link and tells the requester', async () => {
    const { runId, link } = await startSmallCapex('Cancelled request');
    const withoutReason = await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, {});
    expect(withoutReason.status).toBe(422);
    expect(withoutReason.body.error.details.issues[0].path).toBe('reason');
    const cancel = await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'Bought second-hand instead' });
    expect(cancel.status).toBe(202);
    const run = await waitForRunStatus(stack, runId, 'cancelled');
    expect(run.approvals[0]?.state).toBe('revoked');
    const cancelled = run.timeline.find((e: { action: string }) => e.action === 'run.cancelled');
    expect(cancelled).toMatchObject({ actor: 'ops.desk@example.com', details: { reason: 'cancelled by ops.desk@example.com: Bought second-hand instead' } });
    const page = await fetch(link);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('cancelled');
    const told = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /was cancelled: Cancelled request/.test(m.subject));
    expect(told.text).toContain('Bought second-hand instead');
    expect((await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'again' })).status).toBe(409);
  });
});
