import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput } from '../support/fixtures.js';
import { postJson, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const CEO = 'jordan.blake@example.com';

/**
 * Escalation fills a seat under the same separation-of-duties rules as the step's first filling. Here the
 * escalation role's only holder is the CEO, who started the run (a starter never holds a seat of their own run),
 * and nobody sits above the CEO: the escalation target names nobody eligible. With a fallback role in the policy,
 * that role takes the seat; without one, the step keeps its approver until the deadline and expires saying why.
 */
describe('escalation when the escalation target names nobody eligible', () => {
  let stack: Stack;
  let ceoKey: string;
  beforeAll(async () => {
    stack = await startStack();
    await stack.db.person.update({ where: { email: CEO }, data: { roles: ['ceo', 'escalation-desk'] } });
    ceoKey = await stack.createKey(CEO, ['runs:start:capex', 'runs:configure', 'runs:act-for-others']);
  });
  afterEach(async () => {
    await stack.db.person.update({ where: { email: CEO }, data: { roles: ['ceo', 'escalation-desk'] } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const auditOf = (runId: string) => stack.db.auditEntry.findMany({ where: { runId }, orderBy: { id: 'asc' } });
  const start = (title: string, separationOfDuties?: { fallbackRole: string }) =>
    postJson(
      `${stack.apiUrl}/runs`,
      {
        process: 'capex',
        input: capexInput({ title, amount: 3_000 }),
        settings: {
          approval: { reminderAfter: '1h', timeout: '2s', onTimeout: 'escalate', escalateTo: 'role:escalation-desk', escalationTimeout: '3s' },
          ...(separationOfDuties ? { separationOfDuties } : {}),
        },
      },
      { authorization: `Bearer ${ceoKey}` },
    );

  it('passes the seat to the policy’s fallback role, and the audit says who was passed over and why', async () => {
    const title = 'Escalated to the fallback role';
    const started = await start(title, { fallbackRole: 'role:coo' });
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;

    const escalated = await waitForApprovalMail(stack, approvers.coo, { subject: new RegExp(`^Escalated: approval needed: ${title}`) });
    expect(escalated.mail.text).toContain('Morgan Lee did not act in time');
    const audit = await auditOf(runId);
    expect(audit.filter((e) => e.action === 'approval.approver_skipped').map((e) => e.details)).toContainEqual(
      expect.objectContaining({ skipped: CEO, role: 'role:escalation-desk', reason: expect.stringMatching(/started this run/) }),
    );
    expect(audit.some((e) => e.action === 'approval.not_escalated')).toBe(false);
    const requests = await stack.db.approvalRequest.findMany({ where: { runId }, orderBy: { createdAt: 'asc' } });
    expect(requests.map((r) => [r.approverEmail, r.approverRole])).toEqual([
      [approvers.lineManager, expect.any(String)],
      [approvers.coo, 'role:coo (fallback for role:escalation-desk)'],
    ]);
    expect(requests.some((r) => r.approverEmail === CEO)).toBe(false);
  });

  it('without a fallback role keeps the seat with its approver and expires at the deadline, saying escalation found nobody', async () => {
    const title = 'Escalation finds nobody';
    const started = await start(title);
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;

    const run = await waitForRunStatus(stack, runId, 'expired');
    expect(run.failureReason).toMatch(/escalation found nobody eligible \(role:escalation-desk: nobody eligible\)/);
    // The escalation was audited before the deadline closed the step.
    const notEscalated = (await auditOf(runId)).find((e) => e.action === 'approval.not_escalated');
    expect(notEscalated?.details).toMatchObject({ role: 'role:escalation-desk', reason: 'nobody eligible' });
    expect(await stack.db.approvalRequest.count({ where: { runId, approverEmail: CEO } })).toBe(0);
    expect(stack.mail.messages().filter((m) => m.to.includes(CEO) && m.subject.includes(title))).toEqual([]);
  });
});
