import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('when the ERP refuses or stumbles', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function approvedCapex(title: string): Promise<string> {
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 1_500 }), settings: quickTiming });
    expect((await submitDecision((await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) })).link, 'approve')).status).toBe(200);
    return body.runId;
  }

  it('a non-retryable 4xx fails the run at once, with the step and the reason on GET /runs/:id', async () => {
    stack.simulators.injectFault({ system: 'erp', route: 'POST /purchase-orders', fail: 1, status: 422, body: { error: { code: 'vendor_blocked', message: 'Vendor DMG Mori is blocked for new orders' } } });
    const runId = await approvedCapex('Blocked vendor');
    const run = await waitForRunStatus(stack, runId, 'failed', 20_000);
    expect(run.failureReason).toContain('Vendor DMG Mori is blocked for new orders');
    const failed = run.timeline.find((e: { action: string }) => e.action === 'run.failed');
    expect(failed).toMatchObject({ step: 'purchase-order' });
    expect((failed?.details as { reason: string }).reason).toContain('Erp answered 422');
    // Not retried: exactly one attempt reached the ERP.
    expect(stack.simulators.requestLog('erp').filter((r) => r.method === 'POST' && r.idempotencyKey === `${runId}:purchase-order`)).toHaveLength(1);
    await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /could not be completed: Blocked vendor/.test(m.subject));
  });

  it('503 three times then success: retried with the same idempotency key, one PO', async () => {
    stack.simulators.injectFault({ system: 'erp', route: 'POST /purchase-orders', fail: 3, status: 503 });
    const runId = await approvedCapex('Flaky ERP thrice');
    await waitForRunStatus(stack, runId, 'completed', 40_000);
    expect(stack.simulators.erp.findByReference(runId)).toHaveLength(1);
    const attempts = stack.simulators.requestLog('erp').filter((r) => r.idempotencyKey === `${runId}:purchase-order`);
    expect(attempts.map((r) => r.status)).toEqual([503, 503, 503, 201]);
  });
});
