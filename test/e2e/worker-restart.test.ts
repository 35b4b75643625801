import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

async function kill(child: import('node:child_process').ChildProcess): Promise<void> {
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

  it('loses nothing: the run completes with one PO and no duplicated e-mail', async () => {
    let worker = await stack.startWorkerProcess();
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Paint booth' }), settings: quickTiming });
    const runId: string = body.runId;

    const first = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Paint booth/ });
    expect((await submitDecision(first.link, 'approve')).status).toBe(200);
    await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Paint booth/ });

    // Kill -9 while the run waits on the finance director, then again right after a decision lands.
    await kill(worker);
    worker = await stack.startWorkerProcess();
    const finance = await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Paint booth/ });
    expect((await submitDecision(finance.link, 'approve')).status).toBe(200);
    await kill(worker);
    worker = await stack.startWorkerProcess();

    const cfo = await waitForApprovalMail(stack, approvers.cfo, { subject: /Paint booth/, timeoutMs: 30_000 });
    expect((await submitDecision(cfo.link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed', 40_000);

    expect(stack.simulators.erp.findByReference(runId)).toHaveLength(1);
    await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /was approved: Paint booth/.test(m.subject));
    const mails = stack.mail.messages().filter((m) => m.subject.includes('Paint booth'));
    const keys = mails.map((m) => `${m.to.join(',')}|${m.subject}`);
    expect(keys).toHaveLength(4); // three approval requests and the outcome
    expect(new Set(keys).size).toBe(keys.length);
    await kill(worker);
  });
});
