import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getRun, postJson, submitDecision, waitForApprovalMail } from '../support/http.js';
import { startStack, type RunningWorker, type Stack } from '../support/stack.js';

/**
 * An Update refused by its validator leaves no trace in the run's history: its speculative workflow task is dropped.
 * When that is the run's first Update, whatever the SDK noted in that task is dropped too (workflows/sdk-flags.ts
 * says what and why). The run must still replay, so a worker that did not see it live (after a restart) carries on.
 */
describe('a run whose first Update was refused', () => {
  let stack: Stack;
  let worker: RunningWorker;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    worker = await stack.startWorker();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is replayed by a fresh worker, which takes the next decision', async () => {
    const title = 'Refused first update';
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title }), settings: quickTiming });
    const runId = body.runId as string;
    const morgan = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });

    // The run's first Update: a reassignment to the requester, refused by the workflow's validator.
    const [request] = (await getRun(stack, runId)).approvals;
    const refused = await postJson(`${stack.apiUrl}/runs/${runId}/approvals/${request!.requestId}/reassign`, { to: approvers.requester });
    expect(refused.status).toBe(422);
    expect(refused.body.error.details.rule).toBe('separation of duties');

    expect((await submitDecision(morgan.link, 'approve')).status).toBe(200);
    const priya = await waitForApprovalMail(stack, approvers.financeDirector, { subject: new RegExp(title) });

    // A new worker has no cached copy of the run: it replays the history before it can take Priya's decision.
    await worker.stop();
    worker = await stack.startWorker();
    const decided = await submitDecision(priya.link, 'approve');
    expect(decided.status).toBe(200);
    expect(decided.html).toMatch(/you approved/i);
    await waitForApprovalMail(stack, approvers.cfo, { subject: new RegExp(title) });
  });
});
