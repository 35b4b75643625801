import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput } from '../support/fixtures.js';
import { getJson, postJson, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * A reassignment whose handler is still waiting on the directory when the step's deadline passes must not open
 * a seat (or mail anyone) for a step that has closed. The directory lookup is held on purpose until the run has
 * expired, so the interleaving happens every time rather than once in a while.
 */
describe('reassignment racing the deadline', () => {
  let stack: Stack;
  let releaseLookup: () => void = () => undefined;
  const lookupHeld = new Promise<void>((resolve) => (releaseLookup = resolve));
  let lookupStarted: () => void = () => undefined;
  const lookupReached = new Promise<void>((resolve) => (lookupStarted = resolve));

  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    await stack.startWorker({
      wrapActivities: (activities) => ({
        ...activities,
        async approverCandidates(request) {
          // Reassignment asks for one named person without the manager chain: hold exactly that lookup.
          if (request.managerChain === false) {
            lookupStarted();
            await lookupHeld;
          }
          return activities.approverCandidates(request);
        },
      }),
    });
  });
  afterAll(async () => {
    releaseLookup();
    await stack?.stop();
  });

  it('refuses the reassignment once the step expired meanwhile, and nobody new is asked', async () => {
    const title = 'Reassigned at the deadline';
    const settings = { approval: { reminderAfter: '1h', timeout: '3s', onTimeout: 'expire' } };
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings });
    const runId = body.runId as string;
    await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    const { body: run } = await getJson(`${stack.apiUrl}/runs/${runId}`);

    const reassigned = postJson(`${stack.apiUrl}/runs/${runId}/approvals/${run.approvals[0].requestId}/reassign`, { to: approvers.coo, reason: 'Morgan is away' });
    await lookupReached;
    await waitForRunStatus(stack, runId, 'expired');
    releaseLookup();

    const answer = await reassigned;
    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toMatch(/no longer open/);
    const requests = await stack.db.approvalRequest.findMany({ where: { runId } });
    expect(requests.map((r) => r.approverEmail)).toEqual([approvers.lineManager]);
    expect(stack.mail.messages().filter((m) => m.to.includes(approvers.coo) && m.subject.includes(title))).toEqual([]);
  });
});
