import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * A run's close, its audit entry and the requester's notice are one activity (patch run-closed-with-notice): the
 * last decision's record, the purchase order's entry and `run.<status>` commit together, in that order, before the
 * notice is mailed; a retry of the close after its commit and hand-off writes and mails nothing twice. The last
 * decisions' records go with the close too (patch purchase-order-records-with-close), unless the order's first
 * attempt failed: then its retry writes them before it asks the ERP again.
 */
describe("a run's close with the requester's notice", () => {
  let stack: Stack;
  let closeAttempts = 0;
  const erpFailsOnce = 'The ERP fails once';
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    await stack.startWorker({
      wrapActivities: (activities) => ({
        ...activities,
        async createPurchaseOrder(order) {
          if (order.description === erpFailsOnce && Context.current().info.attempt === 1) throw ApplicationFailure.retryable('ERP unavailable', 'ErpUnavailable');
          return activities.createPurchaseOrder(order);
        },
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
  /** Each entry's action and the transaction that wrote it (xmin), in chain order. */
  const auditTransactions = async (runId: string) =>
    Object.fromEntries(
      (await stack.db.$queryRaw<Array<{ action: string; xmin: string }>>`SELECT action, xmin::text FROM "AuditEntry" WHERE "runId" = ${runId} ORDER BY seq`).map((e) => [e.action, e.xmin]),
    );
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

    // The decision's record, the order's entry and the close were written by the close, in one transaction.
    expect(await activitiesOf(runId)).toEqual(['openApprovalStep', 'createPurchaseOrder', 'closeRun']);
    const actions = await auditActions(runId);
    expect(actions).toEqual(['run.started', 'approval.requested', 'approval.decided', 'erp.purchase_order.created', 'run.completed']);
    const written = await auditTransactions(runId);
    expect([written['approval.decided'], written['erp.purchase_order.created']]).toEqual([written['run.completed'], written['run.completed']]);
    expect(run.outcome).toBe('approved');
    expect((await stack.db.approvalRequest.findFirstOrThrow({ where: { runId } })).decision).toBe('approved');

    const notices = noticesTo(new RegExp(`was approved: ${title}`));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toMatch(/Purchase order/);
    const notice = await stack.db.outboundEmail.findUniqueOrThrow({ where: { idempotencyKey: `${runId}:outcome:approved` } });
    expect(notice.status).toBe('sent');
  });

  it("an order whose first attempt failed: its retry writes the decision's record before asking the ERP again", async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: erpFailsOnce, amount: 2_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(erpFailsOnce) });
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    await stack.temporal.workflow.getHandle(runId).result();

    expect(await auditActions(runId)).toEqual(['run.started', 'approval.requested', 'approval.decided', 'erp.purchase_order.created', 'run.completed']);
    const written = await auditTransactions(runId);
    expect(written['approval.decided']).not.toBe(written['run.completed']);
    expect(written['erp.purchase_order.created']).toBe(written['run.completed']);
    expect((await stack.db.approvalRequest.findFirstOrThrow({ where: { runId } })).decision).toBe('approved');
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
