import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * A decision's record is written by what follows it (patch decision-record-deferred): the next step's request
 * carries it, so no activity of its own records a decision that another step follows. The bound the README states:
 * the record and its audit entry are written before anything that follows from the decision is recorded or mailed.
 */
describe('decision records written by what follows them', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('the line manager’s decision is recorded and audited before the finance director is asked, by that request', async () => {
    const title = 'Deferred record';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 25_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const first = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    expect((await submitDecision(first.link, 'approve')).status).toBe(200);

    // The moment the next approver's mail exists, the decision before it is on record, and audited first.
    const next = await waitForApprovalMail(stack, approvers.financeDirector, { subject: new RegExp(title) });
    const lineManagerRequest = await stack.db.approvalRequest.findFirstOrThrow({ where: { runId, stepId: 'line-manager' } });
    expect(lineManagerRequest).toMatchObject({ decision: 'approved', decidedBy: approvers.lineManager });
    expect(lineManagerRequest.usedAt).not.toBeNull();
    const actionsBeforeNextMail = (await stack.db.auditEntry.findMany({ where: { runId }, orderBy: { seq: 'asc' } })).map((e) => `${e.action} ${e.step}`);
    expect(actionsBeforeNextMail.indexOf('approval.decided line-manager')).toBeGreaterThan(-1);
    expect(actionsBeforeNextMail.indexOf('approval.decided line-manager')).toBeLessThan(actionsBeforeNextMail.indexOf('approval.requested finance-director'));

    expect((await submitDecision(next.link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    const audit = (await stack.db.auditEntry.findMany({ where: { runId }, orderBy: { seq: 'asc' } })).map((e) => `${e.action} ${e.step}`);
    expect(audit.filter((entry) => entry.startsWith('approval.decided'))).toEqual(['approval.decided line-manager', 'approval.decided finance-director']);
    // The last decision is followed by the purchase order: its activity writes the record before it asks the ERP.
    expect(audit.indexOf('approval.decided finance-director')).toBeLessThan(audit.indexOf('erp.purchase_order.created purchase-order'));

    // No decision has an activity of its own: each is written by what follows it (RUN_CLOSED_WITH_NOTICE: the last
    // one by the purchase order's activity).
    const history = await stack.temporal.workflow.getHandle(runId).fetchHistory();
    const activities = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
    expect(activities).toEqual(['openApprovalStep', 'openApprovalStep', 'createPurchaseOrder', 'closeRun']);
  });

  it('a decision that leaves its step open (one reviewer of three) is recorded while the others have not decided', async () => {
    const title = 'Deferred record, all of three';
    const input = {
      title,
      counterparty: 'Northwind Logistics',
      contractType: 'msa',
      annualValue: 120_000,
      currency: 'EUR',
      handlesPersonalData: true,
      summary: 'Three-year master services agreement for outbound freight.',
      requester: { name: 'Alex Rivera', email: 'alex.rivera@example.com' },
    };
    const { status, body } = await postJson(`${stack.apiUrl}/runs`, { process: 'contract', input, settings: { approval: { reminderAfter: '1h', timeout: '2h' } } });
    expect(status).toBe(201);
    const runId = body.runId as string;
    // The review is all of legal, finance and security; legal decides first, the others wait.
    const legal = await waitForApprovalMail(stack, 'lena.fischer@example.com', { subject: new RegExp(title) });
    expect((await submitDecision(legal.link, 'approve')).status).toBe(200);
    const recorded = await waitUntil(async () => {
      const request = await stack.db.approvalRequest.findFirst({ where: { runId, approverEmail: 'lena.fischer@example.com', usedAt: { not: null } } });
      const audited = await stack.db.auditEntry.count({ where: { runId, action: 'approval.decided' } });
      return request && audited === 1 ? request : undefined;
    }, 'legal’s decision on record while the step is open');
    expect(recorded.decision).toBe('approved');
    expect(await stack.db.approvalRequest.count({ where: { runId, usedAt: null, revokedAt: null } })).toBe(2);
    await stack.temporal.workflow.getHandle(runId).cancel();
  });
});
