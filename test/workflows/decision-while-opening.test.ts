import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * A step's seats are opened by one activity that also mails the approvers (patch step-opened-in-one-activity), so
 * an approver can read the mail and decide before the workflow knows whom it asked. Such a decision waits for the
 * activity and then counts; it is neither refused nor lost. The activity's return is held on purpose until the
 * decision has reached the run, so the interleaving happens every time. The same holds for ops staff reassigning
 * the request as soon as its mail is out.
 */
describe('a decision or a reassignment on a seat that is still being opened', () => {
  let stack: Stack;
  let release: () => void = () => undefined;
  /** Each test holds the line-manager step's opening anew. */
  let held = Promise.resolve();
  const holdOpening = () => {
    held = new Promise<void>((resolve) => (release = resolve));
  };

  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    await stack.startWorker({
      wrapActivities: (activities) => ({
        ...activities,
        async openApprovalStep(request) {
          const opened = await activities.openApprovalStep(request);
          // The mail has been handed to SMTP; the workflow learns whom it asked only when this returns.
          if (request.stepId === 'line-manager') await held;
          return opened;
        },
      }),
    });
  });
  afterAll(async () => {
    release();
    await stack?.stop();
  });

  /** Until the run has accepted an Update (its validator could not refuse it yet) while the seat is still opening. */
  const untilAccepted = (runId: string) =>
    waitUntil(async () => {
      const events = (await stack.temporal.workflow.getHandle(runId).fetchHistory()).events ?? [];
      return events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    }, 'the Update accepted by the run');

  it('waits for the seat to open, then counts, and the run goes on', async () => {
    holdOpening();
    const title = 'Decided while opening';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const mail = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });

    const decided = submitDecision(mail.link, 'approve');
    await untilAccepted(runId);
    release();

    expect((await decided).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    const request = await stack.db.approvalRequest.findFirstOrThrow({ where: { runId, stepId: 'line-manager' } });
    expect(request).toMatchObject({ decision: 'approved', decidedBy: approvers.lineManager });
    const audit = await stack.db.auditEntry.findMany({ where: { runId, action: 'approval.decided' } });
    expect(audit.map((e) => e.actor)).toEqual([approvers.lineManager]);
  });

  it('a reassignment as soon as the mail is out waits for the seat to open, then moves it; one to oneself is refused at once', async () => {
    holdOpening();
    const title = 'Reassigned while opening';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings: quickTiming });
    const runId = body.runId as string;
    await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    // The read model has the request (the activity recorded it before the mail); the workflow does not know it yet.
    const requestId = (await getJson(`${stack.apiUrl}/runs/${runId}`)).body.approvals[0].requestId as string;
    const reassign = (to: string, key?: string) =>
      postJson(`${stack.apiUrl}/runs/${runId}/approvals/${requestId}/reassign`, { to, reason: 'covering' }, key ? { authorization: `Bearer ${key}` } : {});

    const casey = await stack.createKey('casey.nguyen@example.com', ['runs:manage']);
    const toHerself = await reassign('casey.nguyen@example.com', casey);
    expect(toHerself.status).toBe(422);
    expect(toHerself.body.error.details.issues[0]).toEqual({ path: 'to', message: 'Nobody can reassign a request to themselves' });

    const moved = reassign(approvers.coo);
    await untilAccepted(runId);
    release();
    const answer = await moved;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ oldRequestId: requestId, approverEmail: approvers.coo });
    const dana = await waitForApprovalMail(stack, approvers.coo, { subject: new RegExp(title) });
    expect((await submitDecision(dana.link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    expect(await stack.db.approvalRequest.findUniqueOrThrow({ where: { id: requestId } })).toMatchObject({ revokedReason: expect.stringContaining('reassigned') });
  });
});
