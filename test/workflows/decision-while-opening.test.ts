import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * A step's seats are opened by one activity that also mails the approvers (patch step-opened-in-one-activity), so
 * an approver can read the mail and decide before the workflow knows whom it asked. Such a decision waits for the
 * activity and then counts; it is neither refused nor lost. The activity's return is held on purpose until the
 * decision has reached the run, so the interleaving happens every time.
 */
describe('a decision on a seat that is still being opened', () => {
  let stack: Stack;
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));

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

  it('waits for the seat to open, then counts, and the run goes on', async () => {
    const title = 'Decided while opening';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const mail = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });

    const decided = submitDecision(mail.link, 'approve');
    const handle = stack.temporal.workflow.getHandle(runId);
    // The run accepted the Update (its validator could not refuse it yet) while the seat is still opening.
    await waitUntil(async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      return events.some((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    }, 'the decision accepted by the run');
    release();

    expect((await decided).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    const request = await stack.db.approvalRequest.findFirstOrThrow({ where: { runId, stepId: 'line-manager' } });
    expect(request).toMatchObject({ decision: 'approved', decidedBy: approvers.lineManager });
    const audit = await stack.db.auditEntry.findMany({ where: { runId, action: 'approval.decided' } });
    expect(audit.map((e) => e.actor)).toEqual([approvers.lineManager]);
  });
});
