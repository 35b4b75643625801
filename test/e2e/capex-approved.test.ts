import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getRun, startRun, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('capex sign-off by e-mail, end to end', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('takes a 250,000 EUR request through line manager, finance director and CFO to one purchase order', async () => {
    // Through the typed client (client/): the request and the answers below are typed by the spec.
    const started = await startRun(stack, { process: 'capex', input: capexInput(), settings: quickTiming });
    expect(started.status).toBe(201);
    const runId = started.run!.runId;
    expect(runId).toMatch(/^capex-/);
    expect(started.run!.links.self).toBe(`/runs/${runId}`);

    // Line manager: the link's page shows the request and decides nothing.
    const first = await waitForApprovalMail(stack, approvers.lineManager);
    expect(first.mail.subject).toContain('Five-axis CNC machine for line 3');
    const page = await fetch(first.link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('250,000.00 EUR');
    expect(html).toContain('DMG Mori');
    expect(html).toContain('Line 3 runs at 140% of its capacity.');
    await fetch(first.link); // a mail scanner opening the link again
    const afterGet = await getRun(stack, runId);
    expect(afterGet.approvals).toHaveLength(1);
    expect(afterGet.approvals[0]).toMatchObject({ state: 'pending', decision: null, step: 'line-manager' });
    expect(afterGet.currentStep).toBe('line-manager');

    const approved = await submitDecision(first.link, 'approve', 'Good investment');
    expect(approved.status).toBe(200);
    expect(approved.html).toMatch(/you approved/i);

    const second = await waitForApprovalMail(stack, approvers.financeDirector);
    expect((await submitDecision(second.link, 'approve')).status).toBe(200);
    const third = await waitForApprovalMail(stack, approvers.cfo);
    expect((await submitDecision(third.link, 'approve', 'Within the 2026 plan')).status).toBe(200);

    const run = await waitForRunStatus(stack, runId, 'completed');
    const pos = stack.simulators.erp.findByReference(runId);
    expect(pos).toHaveLength(1);
    expect(pos[0]).toMatchObject({ amount: 250_000, currency: 'EUR', vendor: 'DMG Mori', costCenter: 'OPS-310' });

    const outcomeMail = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /was approved/.test(m.subject));
    expect(outcomeMail.text).toContain(pos[0]!.poNumber);

    expect(run.outcome).toBe('approved');
    expect(run.currentStep).toBeNull();
    const decided = run.approvals.filter((a) => a.state === 'approved');
    expect(decided.map((a) => a.step)).toEqual(['line-manager', 'finance-director', 'cfo']);
    expect(decided.map((a) => a.decidedBy)).toEqual([approvers.lineManager, approvers.financeDirector, approvers.cfo]);
    for (const approval of decided) expect(Date.parse(approval.decidedAt ?? '')).not.toBeNaN();
    expect(decided[0]?.comment).toBe('Good investment');

    const actions = run.timeline.map((e) => e.action);
    expect(actions[0]).toBe('run.started');
    expect(actions.filter((a) => a === 'approval.decided')).toHaveLength(3);
    expect(actions).toContain('erp.purchase_order.created');
    expect(actions.at(-1)).toBe('run.completed');
    const decisionAudit = run.timeline.find((e) => e.action === 'approval.decided');
    expect(decisionAudit?.actor).toBe(approvers.lineManager);

    // Exactly one approval mail per step and one outcome mail: nothing was sent twice.
    const sent = stack.mail.messages().map((m) => `${m.to.join(',')}|${m.subject}`);
    expect(new Set(sent).size).toBe(sent.length);
  });
});
