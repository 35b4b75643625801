import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkers, launchInput } from '../support/fixtures.js';
import { apiClient, approvalLinkIn, getJson, postJson, startRun, submitForm, waitForRunStatus, waitUntil } from '../support/http.js';
import { launchChromium, personInbox, screenshotDir, sidewaysOverflow, signedInBrowser } from '../support/person-inbox.js';
import { startStack, type Stack } from '../support/stack.js';
import { completeTask, taskAction, taskOf, tasksOfRun } from '../support/tasks.js';


/** The field's block on a rendered form: its label, error and control, up to the next field. */
function fieldBlock(page: string, name: string): string {
  const start = page.lastIndexOf('<div class="field">', page.indexOf(`name="${name}"`));
  return page.slice(start, page.indexOf('</div>', page.indexOf(`name="${name}"`)));
}

/**
 * Human tasks through the real stack (API, Temporal, PostgreSQL, SMTP, Chromium), with launch-readiness as the
 * process that opens them: each department's check is a task for its candidate group.
 */
describe('human tasks: claim, complete with a form, overdue and escalation, the personal inbox', () => {
  let stack: Stack;
  let browser: Browser;
  const keys: Record<string, string> = {};
  /** A run whose checks stay open for an hour: nothing is due while the tests act on it. */
  let runId: string;

  beforeAll(async () => {
    stack = await startStack();
    for (const email of [...checkers.marketing, checkers.production, checkers.supply, checkers.customerService]) keys[email] = await stack.createKey(email, ['tasks:write']);
    browser = await launchChromium();
    const started = await startRun(stack, { process: 'launch-readiness', input: launchInput(3_600_000) });
    runId = started.run!.runId;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('offers a check to its whole group; two people claim at once: one holds it, the other is told who', async () => {
    const marketing = taskOf(await tasksOfRun(stack, runId), 'marketing');
    expect(marketing).toMatchObject({ status: 'open', candidateGroup: 'marketing', holder: null });
    // Each holder of the role got a link of their own.
    const links = await Promise.all(
      checkers.marketing.map(async (email) => approvalLinkIn(await stack.mail.waitFor((m) => m.to.includes(email) && m.subject.startsWith('Task for marketing: Marketing check')))),
    );
    expect(new Set(links).size).toBe(2);

    // Two claims in the same instant, each its own Update id: the workflow's validator decides.
    const [leo, mia] = await Promise.all(checkers.marketing.map((email) => taskAction(stack, keys[email]!, marketing.taskId, '/tasks/{id}/claim')));
    const answers = [leo!, mia!];
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const winner = answers.find((a) => a.status === 200)!.task!.holder!;
    const loser = answers.find((a) => a.status === 409)!;
    expect(checkers.marketing).toContain(winner.email);
    expect(loser.error?.error.details).toMatchObject({ heldBy: { email: winner.email, name: winner.name } });
    expect(loser.error?.error.message).toBe(`${winner.name} (${winner.email}) already holds this task.`);

    const claims = await stack.db.auditEntry.findMany({ where: { runId, action: 'task.claimed' } });
    expect(claims.map((c) => [c.actor, (c.details as { channel?: string }).channel])).toEqual([[winner.email, 'api']]);
    // The loser's own link still opens the task, and says who holds it instead of offering a claim.
    const loserLink = links[checkers.marketing.findIndex((email) => email !== winner.email)]!;
    const page = await (await fetch(loserLink)).text();
    expect(page).toContain(`Held by <strong>${winner.name}</strong>`);
    expect(page).not.toContain('Claim this task');
  });

  it('completes a check with its form: a bad form is refused beside its fields with the values kept; a good one completes and is audited', async () => {
    const production = taskOf(await tasksOfRun(stack, runId), 'production');
    const mail = await stack.mail.waitFor((m) => m.to.includes(checkers.production) && m.subject.startsWith('Task for production-planning: Production capacity check'));
    const link = approvalLinkIn(mail);
    const shown = await (await fetch(link)).text();
    expect(shown).toContain('Confirmed capacity');
    expect(shown).toContain('Completing it claims it for you.');

    // Ready, but the capacity does not cover the expected demand of 5,000 a week.
    const refused = await submitForm(link, { action: 'complete', ready: 'on', confirmedCapacity: '4000', notes: 'Line 2 only' });
    expect(refused.status).toBe(422);
    const capacity = fieldBlock(refused.html, 'confirmedCapacity');
    expect(capacity).toContain('<p class="field-error" id="field-confirmedCapacity-error">must cover the expected demand of 5,000 units a week, or untick Ready and say what is missing</p>');
    expect(capacity).toMatch(/name="confirmedCapacity" type="text" inputmode="decimal" value="4000" aria-invalid="true"/);
    expect(refused.html).toMatch(/name="ready" checked/);
    expect(refused.html).toContain('>Line 2 only</textarea>');
    expect((await stack.db.task.findUniqueOrThrow({ where: { id: production.taskId } })).status).toBe('open');

    // The JSON API checks with the same schema: the same rule, named by its path under values.
    const viaApi = await completeTask(stack, keys[checkers.production]!, production.taskId, { ready: true, confirmedCapacity: 4_000 });
    expect(viaApi.status).toBe(422);
    expect(viaApi.error?.error.details?.issues).toEqual([{ path: 'values.confirmedCapacity', message: expect.stringContaining('must cover the expected demand of 5,000') }]);

    const done = await submitForm(link, { action: 'complete', ready: 'on', confirmedCapacity: '6000', notes: 'Second shift from week 10' });
    expect(done.status).toBe(200);
    expect(done.html).toContain('Task completed. Thank you.');
    expect(done.html).toContain(`Completed</strong> by Hana Suzuki`);
    const task = await stack.db.task.findUniqueOrThrow({ where: { id: production.taskId } });
    expect(task).toMatchObject({ status: 'completed', holderEmail: checkers.production, completedBy: checkers.production, result: { ready: true, confirmedCapacity: 6000, notes: 'Second shift from week 10' } });
    const completed = await stack.db.auditEntry.findFirstOrThrow({ where: { runId, action: 'task.completed' } });
    expect(completed).toMatchObject({ actor: checkers.production, step: 'checks', userAgent: 'requester-browser' });
    expect(completed.details).toMatchObject({ taskId: production.taskId, channel: 'link', values: { ready: true, confirmedCapacity: 6000, notes: 'Second shift from week 10' } });

    // The link did its job: it now shows the answers and acts no more.
    const again = await submitForm(link, { action: 'complete', ready: 'on', confirmedCapacity: '9000' });
    expect(again.status).toBe(410);
    expect(again.html).toContain('This link was used: the task is done.');
    expect((await stack.db.task.findUniqueOrThrow({ where: { id: production.taskId } })).result).toMatchObject({ confirmedCapacity: 6000 });
  });

  it('chases an overdue check: a follow-up, reminders to its holder, then escalation to the holder’s manager on the policy’s timing', async () => {
    // Due about 12 s from now, a follow-up 6 s before; overdue reminders every 3 s; escalation 5 s after the due date.
    const settings = { tasks: { dueBeforeCutoff: '168s', followUpBeforeDue: '6s', reminderEvery: '3s', escalateAfter: '5s' } };
    const started = await startRun(stack, { process: 'launch-readiness', input: launchInput(180_000, { title: 'Overdue launch' }), settings });
    const overdueRun = started.run!.runId;
    const supply = taskOf(await tasksOfRun(stack, overdueRun), 'supply');
    const noahLink = approvalLinkIn(await stack.mail.waitFor((m) => m.to.includes(checkers.supply) && m.subject.startsWith('Task for supply-planning: Supply check: Overdue launch')));
    expect((await taskAction(stack, keys[checkers.supply]!, supply.taskId, '/tasks/{id}/claim')).status).toBe(200);

    const forSupply = (to: string, prefix: string) => (m: { to: string[]; subject: string }) => m.to.includes(to) && m.subject.startsWith(`${prefix}: Supply check: Overdue launch`);
    await stack.mail.waitFor(forSupply(checkers.supply, 'Follow-up'), { timeoutMs: 30_000 });
    const reminder = await stack.mail.waitFor(forSupply(checkers.supply, 'Overdue'), { timeoutMs: 30_000 });
    expect(reminder.text).toContain('This task is overdue.');
    const escalated = await stack.mail.waitFor((m) => m.to.includes(checkers.supplyManager) && m.subject.startsWith('Escalated to you: Supply check: Overdue launch'), { timeoutMs: 30_000 });
    expect(escalated.text).toContain('Noah Becker did not finish this task by its due date, so it is now yours.');

    // The mail goes out before its audit entry is written: wait for the entry.
    const trail = await waitUntil(async () => {
      const entries = await stack.db.auditEntry.findMany({ where: { runId: overdueRun, details: { path: ['taskId'], equals: supply.taskId } }, orderBy: { id: 'asc' } });
      return entries.some((e) => e.action === 'task.escalated') && entries;
    }, 'the escalation of the supply check in the audit');
    const task = await stack.db.task.findUniqueOrThrow({ where: { id: supply.taskId } });
    expect(task).toMatchObject({ status: 'assigned', holderEmail: checkers.supplyManager, escalatedTo: checkers.supplyManager });
    const actions = trail.map((e) => e.action);
    expect(actions.slice(0, 4)).toEqual(['task.created', 'task.claimed', 'task.followed_up', 'task.reminded']);
    const escalation = trail.find((e) => e.action === 'task.escalated')!;
    expect(escalation.details).toMatchObject({ from: checkers.supply, to: checkers.supplyManager, holder: checkers.supplyManager });
    // The policy's timing: no escalation before escalateAfter past the due date.
    expect(escalation.at.getTime() - task.dueAt.getTime()).toBeGreaterThanOrEqual(5_000);

    // Noah's link stopped working and says why; Kim's works.
    expect(await (await fetch(noahLink)).text()).toContain('This link no longer works: the task was escalated to Kim Park.');
    const kimDone = await submitForm(approvalLinkIn(escalated), { action: 'complete', weeksOfSupplySecured: '3', notes: 'Resin from the second supplier arrives in week 12' });
    expect(kimDone.status).toBe(200);
    expect(await stack.db.task.findUniqueOrThrow({ where: { id: supply.taskId } })).toMatchObject({ status: 'completed', completedBy: checkers.supplyManager, result: { ready: false } });

    // Cancelling the run closes the checks still open: their links stop working.
    expect((await postJson(`${stack.apiUrl}/runs/${overdueRun}/cancel`, { reason: 'Launch moved to autumn' })).status).toBe(202);
    await waitForRunStatus(stack, overdueRun, 'cancelled');
    const left = await stack.db.task.findMany({ where: { runId: overdueRun, status: { not: 'completed' } } });
    expect(left.map((t) => t.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(await stack.db.approvalRequest.count({ where: { runId: overdueRun, kind: 'task', usedAt: null, revokedAt: null } })).toBe(0);
  });

  it('shows the tasks on the person’s My approvals page, where they claim one (Chromium, 390 px screenshot)', async () => {
    const { context, page } = await signedInBrowser(browser, await personInbox(stack).signInLinkFor(checkers.customerService));
    const listed = await page.locator('#tasks + p + ol').innerText();
    expect(listed).toContain('Customer service check: Trail runner 2 launch');
    expect(listed).toContain('open for customer-service: claim it');
    expect(await sidewaysOverflow(page)).toBe(0);
    await page.screenshot({ path: `${screenshotDir}my-tasks-390px.png`, fullPage: true });

    await page.getByRole('link', { name: 'Customer service check: Trail runner 2 launch' }).click();
    await page.getByRole('button', { name: 'Claim this task' }).click();
    await expect.poll(() => page.locator('[role=status]').innerText()).toBe('You hold this task now.');
    expect(await page.locator('main').innerText()).toContain('You hold this task.');
    expect(await sidewaysOverflow(page)).toBe(0);
    await page.screenshot({ path: `${screenshotDir}my-task-page-390px.png`, fullPage: true });
    await context.close();

    const customerService = taskOf(await tasksOfRun(stack, runId), 'customer-service');
    expect(customerService.holder?.email).toBe(checkers.customerService);
    const claim = await stack.db.auditEntry.findFirstOrThrow({ where: { runId, action: 'task.claimed', actor: checkers.customerService } });
    expect(claim.details).toMatchObject({ channel: 'inbox' });
  });

  it('reports time to claim and time to complete per group in the KPIs', async () => {
    const kpis = await getJson(`${stack.apiUrl}/kpis?process=launch-readiness`);
    expect(kpis.status).toBe(200);
    const byGroup = Object.fromEntries((kpis.body.tasks as Array<{ group: string }>).map((g) => [g.group, g]));
    expect(byGroup.marketing).toMatchObject({ opened: 2, claimed: 1, completed: 0, timeToClaim: { p50: expect.any(Number) }, timeToComplete: { p50: null } });
    expect(byGroup['production-planning']).toMatchObject({ opened: 2, claimed: 1, completed: 1, timeToComplete: { p50: expect.any(Number) } });
    expect(byGroup['supply-planning']).toMatchObject({ completed: 1, escalated: 1 });
    // The typed client sees the same figures.
    const { data } = await apiClient(stack).GET('/kpis', { params: { query: { process: 'launch-readiness' } } });
    expect(data?.tasks.find((g) => g.group === 'marketing')?.claimed).toBe(1);
  });

  it('unclaims, hands back with a reason (the group is told), and ops reassign it: the others’ links stop working', async () => {
    const [leo, mia] = checkers.marketing;
    const started = await startRun(stack, { process: 'launch-readiness', input: launchInput(3_600_000, { title: 'Handover launch' }) });
    const marketing = taskOf(await tasksOfRun(stack, started.run!.runId), 'marketing');
    const leoLink = approvalLinkIn(await stack.mail.waitFor((m) => m.to.includes(leo) && m.subject.startsWith('Task for marketing: Marketing check: Handover launch')));

    expect((await taskAction(stack, keys[leo]!, marketing.taskId, '/tasks/{id}/claim')).status).toBe(200);
    const unclaimed = await taskAction(stack, keys[leo]!, marketing.taskId, '/tasks/{id}/unclaim');
    expect(unclaimed.task).toMatchObject({ status: 'open', holder: null });
    expect((await taskAction(stack, keys[mia]!, marketing.taskId, '/tasks/{id}/claim')).task?.holder?.email).toBe(mia);
    const notMine = await taskAction(stack, keys[leo]!, marketing.taskId, '/tasks/{id}/unclaim');
    expect(notMine.status).toBe(403);

    const handBack = (reason: string) => apiClient(stack, keys[mia]).POST('/tasks/{id}/hand-back', { params: { path: { id: marketing.taskId } }, body: { reason } });
    expect((await handBack('  ')).response.status).toBe(422);
    const handed = await handBack('On leave from Monday');
    expect(handed.data).toMatchObject({ status: 'open', holder: null });
    const told = await stack.mail.waitFor((m) => m.to.includes(leo) && m.subject.startsWith('Task available again: Marketing check: Handover launch'));
    expect(told.text).toContain('Mia Santos handed this task back: On leave from Monday. It is open for your group again.');

    // Ops give it to Riley Chen: the group's links stop working; the requester may not be given it.
    const reassign = (to: string) => apiClient(stack).POST('/tasks/{id}/reassign', { params: { path: { id: marketing.taskId } }, body: { to, reason: 'Needs a director' } });
    const refused = await reassign('alex.rivera@example.com');
    expect(refused.response.status).toBe(422);
    expect(refused.error?.error).toMatchObject({ code: 'separation_of_duties', message: expect.stringContaining('is the requester of this run') });
    expect((await reassign('riley.chen@example.com')).data).toMatchObject({ status: 'assigned', holder: { email: 'riley.chen@example.com' } });
    const riley = await stack.mail.waitFor((m) => m.to.includes('riley.chen@example.com') && m.subject.startsWith('Task reassigned to you: Marketing check: Handover launch'));
    expect(riley.text).toContain('The operations desk gave this task to you: Needs a director');
    expect(await (await fetch(leoLink)).text()).toContain('This link no longer works: the task was given to Riley Chen.');

    const trail = await stack.db.auditEntry.findMany({ where: { runId: started.run!.runId, details: { path: ['taskId'], equals: marketing.taskId } }, orderBy: { id: 'asc' } });
    expect(trail.map((e) => [e.action, e.actor])).toEqual([
      ['task.created', 'opsflow'],
      ['task.claimed', leo],
      ['task.unclaimed', leo],
      ['task.claimed', mia],
      ['task.handed_back', mia],
      ['task.refused', 'ops.desk@example.com'],
      ['task.reassigned', 'ops.desk@example.com'],
    ]);
  });

  it('gives a check to one person when the policy names them: they cannot unclaim it, and handing it back passes it to their manager', async () => {
    const priya = 'priya.shah@example.com';
    const priyaKey = await stack.createKey(priya, ['tasks:write']);
    const settings = { checks: { finance: { assignee: `person:${priya}` } } };
    const started = await startRun(stack, { process: 'launch-readiness', input: launchInput(3_600_000, { title: 'Assigned launch' }), settings });
    const finance = taskOf(await tasksOfRun(stack, started.run!.runId), 'finance');
    expect(finance).toMatchObject({ status: 'assigned', candidateGroup: null, holder: { email: priya, name: 'Priya Shah' } });
    const given = await stack.mail.waitFor((m) => m.to.includes(priya) && m.subject.startsWith('Task for you: Finance check: Assigned launch'));
    expect(given.text).toContain('This task is yours.');

    const unclaim = await taskAction(stack, priyaKey, finance.taskId, '/tasks/{id}/unclaim');
    expect(unclaim.status).toBe(409);
    expect(unclaim.error?.error).toMatchObject({ code: 'conflict', details: { refusal: 'TaskHasNoGroup' } });
    const handed = await apiClient(stack, priyaKey).POST('/tasks/{id}/hand-back', { params: { path: { id: finance.taskId } }, body: { reason: 'The launch budget is the CFO’s' } });
    expect(handed.data).toMatchObject({ status: 'assigned', holder: { email: 'sam.okafor@example.com' } });
    const sam = await stack.mail.waitFor((m) => m.to.includes('sam.okafor@example.com') && m.subject.startsWith('Task handed on to you: Finance check: Assigned launch'));
    expect(sam.text).toContain('Priya Shah handed this task back: The launch budget is the CFO’s. It is now yours.');
    expect(await (await fetch(approvalLinkIn(given))).text()).toContain('This link no longer works: the task was given to Sam Okafor.');
  });

  it('keeps the requester out of their own run’s checks where the policy says so: not offered, and a claim is refused and audited', async () => {
    const [leo, mia] = checkers.marketing;
    const started = await startRun(stack, { process: 'launch-readiness', input: launchInput(3_600_000, { title: 'Mia’s launch', requester: { name: 'Mia Santos', email: mia } }) });
    const runOfMia = started.run!.runId;
    const marketing = taskOf(await tasksOfRun(stack, runOfMia), 'marketing');
    const { data: detail } = await apiClient(stack).GET('/tasks/{id}', { params: { path: { id: marketing.taskId } } });
    expect(detail?.offeredTo.map((p) => p.email)).toEqual([leo]);
    // The row is written before the task's mails, its audit entry after them.
    const created = await waitUntil(
      async () => (await stack.db.auditEntry.findFirst({ where: { runId: runOfMia, action: 'task.created', details: { path: ['taskId'], equals: marketing.taskId } } })) ?? undefined,
      'the marketing check audited',
    );
    expect(created.details).toMatchObject({ skipped: [{ email: mia, reason: 'is the requester of this run', rule: 'separation of duties' }] });

    const claim = await taskAction(stack, keys[mia]!, marketing.taskId, '/tasks/{id}/claim');
    expect(claim.status).toBe(422);
    expect(claim.error?.error).toMatchObject({ code: 'separation_of_duties', message: `${mia} is the requester of this run: separation of duties.` });
    const refusal = await stack.db.auditEntry.findFirstOrThrow({ where: { runId: runOfMia, action: 'task.refused' } });
    expect(refusal).toMatchObject({ actor: mia, step: 'checks' });
    expect(refusal.details).toMatchObject({ taskId: marketing.taskId, attempted: 'claim', channel: 'api', rule: 'separation of duties' });
    expect((await stack.db.task.findUniqueOrThrow({ where: { id: marketing.taskId } })).status).toBe('open');
  });
});
