import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkers, launchInput } from '../support/fixtures.js';
import { approvalLinkIn, getRun, startRun, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';
import { completeTask, taskAction, taskOf, tasksOfRun } from '../support/tasks.js';

/**
 * Launch readiness through the real stack: five departments' checks as parallel tasks, then the COO's go/no-go
 * (the approval step) when all are done or at the cut-off, with what is still open in the facts the COO decides on.
 */
describe('launch readiness: departments check in parallel, the COO decides go/no-go with the open items shown', () => {
  let stack: Stack;
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    stack = await startStack();
    for (const email of [checkers.marketing[1], checkers.production, checkers.supply, checkers.customerService, checkers.finance]) keys[email] = await stack.createKey(email, ['tasks:write']);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const complete = async (tasks: Awaited<ReturnType<typeof tasksOfRun>>, key: string, email: string, values: Record<string, unknown>) => {
    const done = await completeTask(stack, keys[email]!, taskOf(tasks, key).taskId, values);
    expect(done.status, JSON.stringify(done.error)).toBe(200);
  };

  it('at the cut-off with supply still open, the COO sees that item on the page and in the mail; their go completes the run', async () => {
    const started = await startRun(stack, { process: 'launch-readiness', input: launchInput(30_000) });
    const runId = started.run!.runId;
    const tasks = await tasksOfRun(stack, runId);
    // Four departments answer (finance: not ready, with why); supply's planner claims the check but does not finish it.
    await complete(tasks, 'marketing', checkers.marketing[1], { ready: true, campaignLiveOn: '2027-02-20' });
    await complete(tasks, 'production', checkers.production, { ready: true, confirmedCapacity: 6_000 });
    await complete(tasks, 'customer-service', checkers.customerService, { ready: true, agentsTrained: 12 });
    await complete(tasks, 'finance', checkers.finance, { ready: false, costCenter: 'MKT-200', notes: 'Budget waits for the Q1 forecast' });
    expect((await taskAction(stack, keys[checkers.supply]!, taskOf(tasks, 'supply').taskId, '/tasks/{id}/claim')).status).toBe(200);
    const noahLink = approvalLinkIn(await stack.mail.waitFor((m) => m.to.includes(checkers.supply) && m.subject.startsWith('Task for supply-planning')));

    const { mail, link } = await waitForApprovalMail(stack, checkers.coo, { subject: /^Approval needed: Trail runner 2 launch \(Launch readiness\)/, timeoutMs: 60_000 });
    expect(mail.text).toContain('Open items: Supply check');
    expect(mail.text).toMatch(/Supply check: OPEN: not done by the cut-off \(held by Noah Becker; due \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);
    expect(mail.text).toContain('Checks done: 4 of 5 (1 not ready)');
    expect(mail.text).toContain('Finance check: NOT READY, by Ravi Patel\nCost center: MKT-200\nNotes: Budget waits for the Q1 forecast');
    expect(mail.text).toContain('Production capacity check: Ready, by Hana Suzuki\nConfirmed capacity: 6,000');
    const page = await (await fetch(link)).text();
    expect(page).toContain('<div><dt>Open items</dt><dd>Supply check</dd></div>');
    expect(page).toMatch(/<dt>Supply check<\/dt><dd>OPEN: not done by the cut-off \(held by Noah Becker; due /);

    // The check was closed at the cut-off: Noah's link says so and acts no more.
    const supply = await stack.db.task.findUniqueOrThrow({ where: { id: taskOf(tasks, 'supply').taskId } });
    expect(supply).toMatchObject({ status: 'cancelled', holderEmail: checkers.supply, closedReason: 'the go/no-go cut-off passed before it was done: the COO decides with it open' });
    expect(await (await fetch(noahLink)).text()).toContain('This link no longer works: the go/no-go cut-off passed before it was done');

    expect((await submitDecision(link, 'approve', 'Go: supply confirms by Friday')).status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'completed');
    expect(run.outcome).toBe('go');
    const told = await stack.mail.waitFor((m) => m.to.includes('alex.rivera@example.com') && m.subject === 'Your request was approved: Trail runner 2 launch');
    expect(told.text).toContain('Open at the cut-off: Supply check: Trail runner 2 launch');
    // The COO's decision is bound to the facts that showed the open item, and the audit keeps both.
    const decided = await stack.db.auditEntry.findFirstOrThrow({ where: { runId, action: 'approval.decided' } });
    expect(decided.actor).toBe(checkers.coo);
    expect((decided.details as { facts: Array<{ label: string; value: string }> }).facts).toContainEqual({ label: 'Open items', value: 'Supply check' });
    expect(await stack.db.auditEntry.count({ where: { runId, action: 'tasks.summarized' } })).toBe(1);
  });

  it('with every check done before the cut-off the COO is asked at once; a no-go ends the run rejected', async () => {
    const started = await startRun(stack, { process: 'launch-readiness', input: launchInput(3_600_000, { title: 'Autumn campaign' }) });
    const runId = started.run!.runId;
    const tasks = await tasksOfRun(stack, runId);
    await complete(tasks, 'marketing', checkers.marketing[1], { ready: true, campaignLiveOn: '2027-02-20' });
    await complete(tasks, 'production', checkers.production, { ready: true, confirmedCapacity: 5_000 });
    await complete(tasks, 'supply', checkers.supply, { ready: false, weeksOfSupplySecured: 2, notes: 'Resin for two weeks only' });
    await complete(tasks, 'customer-service', checkers.customerService, { ready: true, agentsTrained: 8 });
    await complete(tasks, 'finance', checkers.finance, { ready: true, costCenter: 'MKT-210' });

    const { mail, link } = await waitForApprovalMail(stack, checkers.coo, { subject: /^Approval needed: Autumn campaign/ });
    expect(mail.text).toContain('Open items: None: every check was done');
    expect(mail.text).toContain('Supply check: NOT READY, by Noah Becker');
    expect((await submitDecision(link, 'reject', 'No-go: two weeks of resin is not enough')).status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'rejected');
    expect(run).toMatchObject({ outcome: 'no-go', failureReason: 'No-go: two weeks of resin is not enough' });
    expect((await getRun(stack, runId)).facts).toContainEqual({ label: 'Checks done', value: expect.stringMatching(/^5 of 5 \(1 not ready\), as of /) });
  });
});
