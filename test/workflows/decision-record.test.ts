import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type RunningWorker, type Stack } from '../support/stack.js';

/**
 * A decision is answered once the run's history holds it, before its record is written (patch
 * decision-answered-before-recording). The record still appears, exactly once, even when the worker that took the
 * decision can never write it and another worker has to.
 */
describe('a decision answered before its record is written', () => {
  let stack: Stack;
  let failing: RunningWorker;
  let attempts = 0;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    failing = await stack.startWorker({
      // As if the database went away (or the worker died) right after the decision was taken: whichever activity
      // writes the decision's record fails (a run's last decision is written by its purchase order's activity,
      // which writes nothing else before the order: RUN_CLOSED_WITH_NOTICE).
      wrapActivities: (activities) => ({
        ...activities,
        async recordDecision() {
          attempts += 1;
          throw ApplicationFailure.retryable('database unavailable', 'DatabaseUnavailable');
        },
        async createPurchaseOrder() {
          attempts += 1;
          throw ApplicationFailure.retryable('database unavailable', 'DatabaseUnavailable');
        },
      }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is acknowledged at once, and audited once by the next worker', async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Recorded later', amount: 3_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Recorded later/ });
    const answer = await submitDecision(link, 'approve');
    expect(answer.status).toBe(200);
    expect(answer.html).toContain('you approved');

    await waitUntil(async () => attempts >= 2 || undefined, 'the failing worker to try twice');
    const decided = () => stack.db.auditEntry.count({ where: { runId, action: 'approval.decided' } });
    expect(await decided()).toBe(0);

    await failing.stop();
    await stack.startWorker();
    await waitForRunStatus(stack, runId, 'completed', 60_000);
    expect(await decided()).toBe(1);
    const audit = await stack.db.auditEntry.findMany({ where: { runId }, orderBy: { seq: 'asc' } });
    const actions = audit.map((e) => e.action);
    // The decision's entry comes before what followed from it, though it was written late.
    expect(actions.indexOf('approval.decided')).toBeLessThan(actions.indexOf('run.completed'));
    expect((await stack.db.approvalRequest.findFirstOrThrow({ where: { runId } })).decision).toBe('approved');
  });
});
