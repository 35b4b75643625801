import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('a worker killed in the middle of a run', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('loses nothing: the run completes with one PO and no duplicated e-mail', { timeout: 150_000 }, async () => {
    let worker = await stack.startWorkerProcess();
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Paint booth' }), settings: quickTiming });
    const runId: string = body.runId;

    const first = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Paint booth/ });
    expect((await submitDecision(first.link, 'approve')).status).toBe(200);

    // Kill -9 while the run waits on the finance director, then bring a new worker up.
    await waitUntil(
      () => stack.db.approvalRequest.findFirst({ where: { runId, stepId: 'finance-director', emailSentAt: { not: null } } }),
      'the finance director request to be mailed',
    );
    await kill(worker);
    worker = await stack.startWorkerProcess();
    const finance = await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Paint booth/ });
    expect((await submitDecision(finance.link, 'approve')).status).toBe(200);

    // Kill -9 while the ERP has created the PO but its answer is still on the way: the retry must not make another.
    const cfo = await waitForApprovalMail(stack, approvers.cfo, { subject: /Paint booth/ });
    stack.simulators.injectFault({ system: 'erp', route: 'POST /purchase-orders', fail: 1, passThrough: true, delayMs: 5_000 });
    expect((await submitDecision(cfo.link, 'approve')).status).toBe(200);
    await waitUntil(async () => stack.simulators.erp.findByReference(runId).length === 1, 'the ERP to create the PO');
    await kill(worker);
    worker = await stack.startWorkerProcess();

    // The PO activity times out on the dead worker (30 s) and is retried by the new one.
    await waitForRunStatus(stack, runId, 'completed', 90_000);
    expect(stack.simulators.erp.findByReference(runId)).toHaveLength(1);
    const poCalls = stack.simulators.requestLog('erp').filter((r) => r.method === 'POST');
    expect(poCalls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(poCalls.map((r) => r.idempotencyKey))).toEqual(new Set([`${runId}:purchase-order`]));

    await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /was approved: Paint booth/.test(m.subject));
    const keys = stack.mail.messages().filter((m) => m.subject.includes('Paint booth')).map((m) => `${m.to.join(',')}|${m.subject}`);
    expect(keys, keys.join('\n')).toHaveLength(4); // three approval requests and the outcome
    expect(new Set(keys).size).toBe(4);
    await kill(worker);
  });
});
