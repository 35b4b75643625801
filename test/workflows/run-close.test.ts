import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * A run's close, its audit entry and the requester's notice are one activity (patch run-closed-with-notice): the
 * last decision's record, the purchase order's entry and `run.<status>` commit together, in that order, before the
 * notice is mailed; a retry of the close after its commit and hand-off writes and mails nothing twice.
 */
describe("a run's close with the requester's notice", () => {
  let stack: Stack;
  let closeAttempts = 0;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    await stack.startWorker({
      wrapActivities: (activities) => ({
        ...activities,
        // The first attempt does all its work, then fails, as if the worker died before Temporal heard of it.
        async closeRun(closing) {
          await activities.closeRun(closing);
          closeAttempts += 1;
          if (closeAttempts === 1) throw ApplicationFailure.retryable('worker lost after the close', 'WorkerLost');
        },
      }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const activitiesOf = async (runId: string) => {
    const events = (await stack.temporal.workflow.getHandle(runId).fetchHistory()).events ?? [];
    return events.flatMap((e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ? [e.activityTaskScheduledEventAttributes.activityType.name] : []));
  };
  const auditActions = async (runId: string) => (await stack.db.auditEntry.findMany({ where: { runId }, orderBy: { seq: 'asc' } })).map((e) => e.action);
  const noticesTo = (subject: RegExp) => stack.mail.messages().filter((m) => m.to.includes(approvers.requester) && subject.test(m.subject));

  it('an approved run: decision, purchase order and close audited in order, one notice, though the close ran twice', async () => {
    const title = 'Closed with its notice';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 2_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'completed');
    // The read model says completed once the first attempt committed; the workflow ends after the retry.
    await stack.temporal.workflow.getHandle(runId).result();
    expect(closeAttempts).toBe(2);

    // The decision's record was written by the purchase order's activity, the order's entry by the close.
    expect(await activitiesOf(runId)).toEqual(['openApprovalStep', 'createPurchaseOrder', 'closeRun']);
    const actions = await auditActions(runId);
    expect(actions).toEqual(['run.started', 'approval.requested', 'approval.decided', 'erp.purchase_order.created', 'run.completed']);
    expect(run.outcome).toBe('approved');
    expect((await stack.db.approvalRequest.findFirstOrThrow({ where: { runId } })).decision).toBe('approved');

    const notices = noticesTo(new RegExp(`was approved: ${title}`));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toMatch(/Purchase order/);
    const notice = await stack.db.outboundEmail.findUniqueOrThrow({ where: { idempotencyKey: `${runId}:outcome:approved` } });
    expect(notice.status).toBe('sent');
  });

  it('a rejected run: the rejection is audited before the close, by the close itself', async () => {
    const title = 'Rejected and closed';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 2_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    expect((await submitDecision(link, 'reject', 'Not this quarter')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'rejected');
    await stack.temporal.workflow.getHandle(runId).result();

    expect(await activitiesOf(runId)).toEqual(['openApprovalStep', 'closeRun']);
    expect(await auditActions(runId)).toEqual(['run.started', 'approval.requested', 'approval.decided', 'run.rejected']);
    const notices = noticesTo(new RegExp(`was rejected: ${title}`));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toContain('Reason: Not this quarter');
  });
});
