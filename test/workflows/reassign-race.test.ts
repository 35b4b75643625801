import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput } from '../support/fixtures.js';
import { getJson, postJson, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/** An activity call the test holds until it says so, and knows when it was reached. */
function gate() {
  let release: () => void = () => undefined;
  let reach: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  return { held, reached, release, reach };
}

/**
 * A reassignment whose handler is still waiting on an activity when the step's deadline passes must not open a
 * seat (or mail anyone) for a step that has closed, nor tell the caller that someone new was asked. The handler has
 * two awaits before the new seat opens (the directory lookup, then revoking the old request); each is held on
 * purpose until the run has expired, so the interleaving happens every time rather than once in a while.
 */
describe('reassignment racing the deadline', () => {
  let stack: Stack;
  const lookup = gate();
  const revoke = gate();

  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    await stack.startWorker({
      wrapActivities: (activities) => ({
        ...activities,
        async approverCandidates(request) {
          // Reassignment asks for one named person without the manager chain: hold exactly that lookup.
          if (request.managerChain === false && request.roles[0] === `person:${approvers.coo}`) {
            lookup.reach();
            await lookup.held;
          }
          return activities.approverCandidates(request);
        },
        async revokeApprovalRequests(request) {
          if (request.action === 'approval.reassigned' && request.details?.to === approvers.cfo) {
            revoke.reach();
            await revoke.held;
          }
          return activities.revokeApprovalRequests(request);
        },
      }),
    });
  });
  afterAll(async () => {
    lookup.release();
    revoke.release();
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
    await lookup.reached;
    // The held lookup is a local activity: it keeps the run's workflow task open, so each ordinary activity after
    // the deadline (revoking the request, then the run's close) goes out only at that task's heartbeat (every 8 s).
    await waitForRunStatus(stack, runId, 'expired', 60_000);
    lookup.release();

    const answer = await reassigned;
    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toMatch(/no longer open/);
    const requests = await stack.db.approvalRequest.findMany({ where: { runId } });
    expect(requests.map((r) => r.approverEmail)).toEqual([approvers.lineManager]);
    expect(stack.mail.messages().filter((m) => m.to.includes(approvers.coo) && m.subject.includes(title))).toEqual([]);
  });

  it('refuses the reassignment when the step expired while the old request was being revoked, and nobody new is asked', async () => {
    const title = 'Reassigned while revoking';
    const settings = { approval: { reminderAfter: '1h', timeout: '3s', onTimeout: 'expire' } };
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings });
    const runId = body.runId as string;
    await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    const { body: run } = await getJson(`${stack.apiUrl}/runs/${runId}`);

    const reassigned = postJson(`${stack.apiUrl}/runs/${runId}/approvals/${run.approvals[0].requestId}/reassign`, { to: approvers.cfo, reason: 'Morgan is away' });
    await revoke.reached;
    await waitForRunStatus(stack, runId, 'expired');
    revoke.release();

    const answer = await reassigned;
    expect(answer.status).toBe(409);
    expect(answer.body.error.message).toMatch(/closed while the request was being reassigned/);
    const requests = await stack.db.approvalRequest.findMany({ where: { runId } });
    expect(requests.map((r) => r.approverEmail)).toEqual([approvers.lineManager]);
    expect(stack.mail.messages().filter((m) => m.to.includes(approvers.cfo) && m.subject.includes(title))).toEqual([]);
  });
});
