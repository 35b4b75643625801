import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('capex: rejection, reminders, escalation and expiry', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a rejection needs a reason, ends the run, and the requester reads the reason', async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, {
      process: 'capex',
      input: capexInput({ title: 'Second forklift', amount: 42_000, vendor: 'Linde' }),
      settings: quickTiming,
    });
    const runId: string = body.runId;
    const lineManager = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Second forklift/ });
    expect((await submitDecision(lineManager.link, 'approve')).status).toBe(200);
    const finance = await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Second forklift/ });

    const withoutReason = await submitDecision(finance.link, 'reject', '   ');
    expect(withoutReason.status).toBe(422);
    expect(withoutReason.html).toContain('A reason is required to reject');
    expect((await getJson(`${stack.apiUrl}/runs/${runId}`)).body.status).toBe('running');

    const rejected = await submitDecision(finance.link, 'reject', 'Lease one instead; cheaper over 3 years');
    expect(rejected.status).toBe(200);
    expect(rejected.html).toMatch(/you rejected/i);

    const run = await waitForRunStatus(stack, runId, 'rejected');
    expect(run.failureReason).toBe('Lease one instead; cheaper over 3 years');
    const decided = run.approvals.filter((a) => a.decision);
    expect(decided.map((a) => a.decision)).toEqual(['approved', 'rejected']);

    const mail = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /was rejected: Second forklift/.test(m.subject));
    expect(mail.text).toContain('Reason: Lease one instead; cheaper over 3 years');
    expect(mail.text).toContain('Priya Shah');
    expect(stack.simulators.erp.findByReference(runId)).toHaveLength(0);
    // No CFO step was ever opened.
    expect(stack.mail.messages().some((m) => m.to.includes(approvers.cfo) && /Second forklift/.test(m.subject))).toBe(false);
  });

  it('reminds the approver, escalates to their manager at the SLA, then expires', async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, {
      process: 'capex',
      input: capexInput({ title: 'Standing desks', amount: 4_800, vendor: 'Steelcase', category: 'facilities' }),
      settings: { approval: { reminderAfter: '2s', timeout: '5s', onTimeout: 'escalate', escalateTo: 'manager-of-approver', escalationTimeout: '4s' } },
    });
    const runId: string = body.runId;
    const original = await waitForApprovalMail(stack, approvers.lineManager, { subject: /^Approval needed: Standing desks/ });
    const reminder = await waitForApprovalMail(stack, approvers.lineManager, { subject: /^Reminder: approval needed: Standing desks/ });
    expect(reminder.link).toBe(original.link);

    // At the SLA the request moves to Morgan's manager, Dana; Morgan's link stops working.
    const escalated = await waitForApprovalMail(stack, approvers.coo, { subject: /^Escalated: approval needed: Standing desks/ });
    expect(escalated.mail.text).toContain('Morgan Lee did not act in time');
    const stale = await fetch(original.link);
    expect(stale.status).toBe(410);
    expect(await stale.text()).toContain('escalated to Dana Whitfield');

    const run = await waitForRunStatus(stack, runId, 'expired', 20_000);
    expect(run.approvals.map((a: { approver: { email: string }; state: string }) => [a.approver.email, a.state])).toEqual([
      [approvers.lineManager, 'revoked'],
      [approvers.coo, 'expired'],
    ]);
    const actions = run.timeline.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['approval.requested', 'approval.reminded', 'approval.escalated', 'approval.expired', 'run.expired']));
    await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /expired without a decision: Standing desks/.test(m.subject));

    const late = await submitDecision(escalated.link, 'approve');
    expect(late.status).toBe(410);
    expect(late.html).toMatch(/expired/i);
  });

  it('with onTimeout "expire" a step expires at its SLA without escalating', async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, {
      process: 'capex',
      input: capexInput({ title: 'Label printer', amount: 900, vendor: 'Zebra', category: 'it-hardware' }),
      settings: { approval: { reminderAfter: '1h', timeout: '3s', onTimeout: 'expire' } },
    });
    await waitForApprovalMail(stack, approvers.lineManager, { subject: /Label printer/ });
    const run = await waitForRunStatus(stack, body.runId, 'expired', 20_000);
    expect(run.approvals).toHaveLength(1);
    expect(stack.mail.messages().some((m) => /Escalated: .*Label printer/.test(m.subject))).toBe(false);
  });
});
