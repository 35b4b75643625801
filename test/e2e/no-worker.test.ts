import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('a decision while no worker is running', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none', decisionWaitMs: 1_500 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers "sent, not confirmed" instead of hanging, and is applied exactly once when a worker returns', async () => {
    const worker = await stack.startWorker();
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Worker outage', amount: 2_000 }), settings: quickTiming });
    const runId: string = body.runId;
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Worker outage/ });
    await worker.stop();

    const startedAt = Date.now();
    const pending = await submitDecision(link, 'approve');
    expect(pending.status).toBe(202);
    expect(pending.html).toContain('not confirmed yet');
    expect(Date.now() - startedAt).toBeLessThan(10_000);

    await stack.startWorker();
    // The approver follows the page's advice and submits again, as often as it still says "not confirmed" (the
    // returning worker replays the run before it can answer, which on a loaded machine outlasts one wait): the
    // repeat joins the first decision (the same Update id) and is never a second one.
    const giveUpAt = Date.now() + 30_000;
    let retry = await submitDecision(link, 'approve');
    while (retry.status === 202 && Date.now() < giveUpAt) retry = await submitDecision(link, 'approve');
    expect([200, 409]).toContain(retry.status);
    await waitForRunStatus(stack, runId, 'completed', 30_000);
    const decided = await stack.db.auditEntry.count({ where: { runId, action: 'approval.decided' } });
    expect(decided).toBe(1);
  });
});
