import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * openApprovalStep looks the approvers up and records and mails the requests in one activity. When an attempt dies
 * after its commit (here: after the mail went out), the retry must not look the approvers up again and pick someone
 * else: the directory may have changed meanwhile (a delegation starting), and the workflow must hold the approver
 * the request was recorded and mailed for. One request, one mail, one audit entry.
 */
describe('a step opening retried after its commit', () => {
  let stack: Stack;
  let failedOnce = false;
  const delegate = approvers.coo;

  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    await stack.startWorker({
      wrapActivities: (activities) => ({
        ...activities,
        async openApprovalStep(request) {
          const opened = await activities.openApprovalStep(request);
          if (!failedOnce && request.stepId === 'line-manager') {
            failedOnce = true;
            // Morgan goes away between the attempts: a fresh lookup would now give the seat to the delegate.
            const now = Date.now();
            await stack.db.delegation.create({
              data: { id: `retry-${now}`, personEmail: approvers.lineManager, delegateEmail: delegate, startsAt: new Date(now - 60_000), endsAt: new Date(now + 86_400_000), createdBy: 'test' },
            });
            throw ApplicationFailure.retryable('worker lost after the commit', 'WorkerLost');
          }
          return opened;
        },
      }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('keeps the approver first recorded and mailed, once', async () => {
    const title = 'Opening retried';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const mail = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    expect((await submitDecision(mail.link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');

    expect(failedOnce).toBe(true);
    const requests = await stack.db.approvalRequest.findMany({ where: { runId } });
    expect(requests.map((r) => [r.approverEmail, r.decidedBy])).toEqual([[approvers.lineManager, approvers.lineManager]]);
    const sentTo = stack.mail.messages().filter((m) => m.subject.includes(title) && !m.to.includes(approvers.requester)).map((m) => m.to);
    expect(sentTo).toEqual([[approvers.lineManager]]);
    expect(await stack.db.auditEntry.count({ where: { runId, action: 'approval.requested' } })).toBe(1);
  });
});
