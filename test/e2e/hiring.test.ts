import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HiringInput } from '../../processes/hiring.js';
import { approvalLinkIn, getJson, listEvents, postJson, submitDecision, submitForm, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { launchChromium, personInbox, screenshotDir, sidewaysOverflow, signedInBrowser } from '../support/person-inbox.js';
import { startStack, type Stack } from '../support/stack.js';
import { completeTask, taskAction, taskOf, tasksOfRun } from '../support/tasks.js';

const manager = { name: 'Avery Kim', email: 'avery.kim@example.com' };
/** Who prepares a first day in the demo org: IT (a group of two), facilities (one). */
const itStaff = { kai: 'kai.lindqvist@example.com', una: 'una.byrne@example.com' };
const facilities = 'rosa.diaz@example.com';
const DAY = 86_400_000;
const today = () => new Date().toISOString().slice(0, 10);
const inDays = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
/** The first Monday at least `days` from now: a start date whose working days before it are easy to count. */
function mondayAfter(days: number): string {
  const date = new Date(`${inDays(days)}T00:00:00Z`);
  while (date.getUTCDay() !== 1) date.setUTCDate(date.getUTCDate() + 1);
  return date.toISOString().slice(0, 10);
}
/** `days` calendar days before a date's midnight, as the API writes a moment. */
const daysBefore = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) - days * DAY).toISOString();

function requisition(role: string, overrides: Partial<HiringInput> = {}): HiringInput {
  return {
    role,
    department: 'Engineering',
    level: 'L4',
    location: 'Berlin',
    salaryRange: { min: 85_000, max: 100_000, currency: 'EUR' },
    headcountJustification: 'The payments team is two engineers short of its roadmap commitments.',
    hiringManager: manager,
    requester: manager,
    ...overrides,
  };
}

/**
 * The preparation policy the due dates are held to: working days before the start date (weekends not counted),
 * a follow-up one working day before each due date.
 */
const preparation = { 'it-setup': { dueBefore: '4d' }, desk: { dueBefore: '2d' }, 'manager-checklist': { dueBefore: '1d' }, followUpBeforeDue: '1d' };
const settings = { approval: { reminderAfter: '1h', timeout: '2h' }, signaturePollInterval: '1s', preparation };

describe('hiring: requisition to provisioned employee, on the whole local stack', () => {
  let stack: Stack;
  let browser: Browser;
  const keys: Record<string, string> = {};
  beforeAll(async () => {
    stack = await startStack();
    for (const email of [itStaff.kai, itStaff.una, facilities, manager.email]) keys[email] = await stack.createKey(email, ['tasks:write']);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  /** The task's mail to a person, by the start of its subject, and the link in it. */
  async function taskLink(to: string, subject: string) {
    const mail = await stack.mail.waitFor((m) => m.to.includes(to) && m.subject.startsWith(subject));
    return { mail, link: approvalLinkIn(mail) };
  }

  const currentStep = async (runId: string) => (await getJson(`${stack.apiUrl}/runs/${runId}`)).body as { status: string; currentStep: string | null };

  /** The simulators' own API, as the ATS's users (recruiters) and the new hire would use it. */
  async function simulator(path: string, body: unknown, key: string) {
    const response = await fetch(`${stack.simulators.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'idempotency-key': `test-${path}-${JSON.stringify(body)}` },
      body: JSON.stringify(body),
    });
    return (await response.json()) as Record<string, any>;
  }

  async function approveThrough(runId: string, title: string, approvers: string[]) {
    for (const approver of approvers) {
      const { link } = await waitForApprovalMail(stack, approver, { subject: new RegExp(title) });
      expect((await submitDecision(link, 'approve', 'go ahead')).status).toBe(200);
    }
    return waitUntil(async () => {
      const { body } = await getJson(`${stack.apiUrl}/runs/${runId}`);
      return body.currentStep === 'awaiting-offer' ? body : undefined;
    }, 'the run to wait for an offer');
  }

  /** A recruiter adds the candidate and records the accepted offer in the ATS, which sends offer.accepted. */
  async function candidateAccepts(runId: string, name: string, email: string, startDate: string) {
    const requisition = stack.simulators.ats.requisitions().find((r) => r.reference === runId)!;
    expect(requisition).toMatchObject({ status: 'open', department: 'Engineering', salaryMax: 100_000 });
    const candidate = await simulator(`/ats/requisitions/${requisition.requisitionId}/candidates`, { name, email }, 'dev-ats-key');
    await simulator(`/ats/candidates/${candidate.candidateId}/accept-offer`, { startDate, salary: 95_000, currency: 'EUR' }, 'dev-ats-key');
    return { candidateId: candidate.candidateId as string, requisitionId: requisition.requisitionId };
  }

  async function signOfferLetter(email: string) {
    const mail = await stack.mail.waitFor((m) => m.to.includes(email) && m.subject.startsWith('Your offer letter'));
    const signingUrl = /https?:\/\/\S+\/esign\/sign\/ENV-\d+/.exec(mail.text)![0];
    expect((await fetch(signingUrl)).status).toBe(200);
    const signed = await fetch(signingUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=sign' });
    expect(await signed.text()).toContain('Signed, thank you');
  }

  it('approves, opens the requisition, takes the ATS offer event, gets the letter signed, creates and provisions the employee; IT, facilities and the manager prepare the first day as tasks, and the run completes once they are done', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input: requisition('Payments Engineer'), settings });
    expect(started.status).toBe(201);
    const runId: string = started.body.runId;
    await approveThrough(runId, 'Payments Engineer', ['taylor.brooks@example.com', 'jamie.ortiz@example.com']);

    const startDate = today();
    const { requisitionId } = await candidateAccepts(runId, 'Noa Levi', 'noa.levi@mail.test', startDate);
    await signOfferLetter('noa.levi@mail.test');

    // Starting today: every working day before has passed, so each task is due by the end of the first day.
    const tasks = await tasksOfRun(stack, runId, 3);
    expect(tasks.map((t) => [t.key, t.candidateGroup, t.holder?.email ?? null, t.dueAt])).toEqual([
      ['desk', 'facilities', null, daysBefore(startDate, -1)],
      ['it-setup', 'it', null, daysBefore(startDate, -1)],
      ['manager-checklist', null, manager.email, daysBefore(startDate, -1)],
    ]);
    const laptop = taskOf(tasks, 'it-setup');
    expect(laptop.instructions).toMatch(/Equipment order EQ-\d+ \(1 × Laptop, 16", 32 GB, 1 × Monitor, 27", 1 × Headset\)/);
    // The checklist is the manager's task now, not a mail.
    const checklist = await taskLink(manager.email, 'Task for you: Your checklist for Noa Levi');
    expect(checklist.mail.text).toContain('pick an onboarding buddy');

    // IT: Kai claims it over the API; the form is refused until the accounts are checked.
    expect((await taskAction(stack, keys[itStaff.kai]!, laptop.taskId, '/tasks/{id}/claim')).status).toBe(200);
    const unticked = await completeTask(stack, keys[itStaff.kai]!, laptop.taskId, { assetTag: 'LT-04711', accountsChecked: false });
    expect(unticked.status).toBe(422);
    expect(unticked.error?.error.details?.issues).toEqual([{ path: 'values.accountsChecked', message: 'sign in to each account first, then tick it' }]);
    expect((await completeTask(stack, keys[itStaff.kai]!, laptop.taskId, { assetTag: 'LT-04711', accountsChecked: true })).status).toBe(200);
    // Facilities: Rosa completes the desk through her mailed link.
    const desk = await taskLink(facilities, 'Task for facilities: Desk for Noa Levi in Berlin');
    expect((await submitForm(desk.link, { action: 'complete', desk: 'B2.14', badgeReady: 'on' })).status).toBe(200);

    // Two of three done: the run still waits for the checklist.
    expect(await currentStep(runId)).toMatchObject({ status: 'running', currentStep: 'preparation' });
    const done = await submitForm(checklist.link, { action: 'complete', firstWeekPlanned: 'on', buddy: 'Sam Rivers', channelsAndMeetings: 'on', goalsSet: 'on' });
    expect(done.status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'completed', 45_000);
    expect(run.outcome).toBe('hired');
    const told = await stack.mail.waitFor((m) => m.to.includes(manager.email) && m.subject.startsWith('Your request was') && m.subject.includes('Payments Engineer'));
    expect(told.text).toContain('LT-04711, set up by Kai Lindqvist');
    expect(told.text).toContain('B2.14, prepared by Rosa Diaz');
    expect(told.text).toContain('Sam Rivers');

    const employee = stack.simulators.hris.employees().find((e) => e.reference === runId)!;
    expect(employee).toMatchObject({ name: 'Noa Levi', status: 'pending_start', department: 'Engineering', salary: 95_000, managerEmail: manager.email });
    expect(stack.simulators.it.accounts().filter((a) => a.employeeId === employee.employeeId)).toEqual([expect.objectContaining({ status: 'active', workEmail: 'noa.levi@example.com' })]);
    expect(stack.simulators.it.orders().filter((o) => o.employeeId === employee.employeeId)).toEqual([expect.objectContaining({ status: 'ordered' })]);
    expect(stack.simulators.ats.requisitions().find((r) => r.requisitionId === requisitionId)).toMatchObject({ status: 'closed', closeReason: 'filled' });
    expect(stack.simulators.esign.envelopes().find((e) => e.reference === runId)).toMatchObject({ status: 'signed' });

    const welcome = await stack.mail.waitFor((m) => m.to.includes('noa.levi@mail.test') && m.subject.startsWith('Welcome'));
    expect(welcome.text).toContain('noa.levi@example.com');
    expect(checklist.mail.text).toContain(employee.employeeId);
    expect(stack.mail.messages().filter((m) => m.subject.includes('your checklist'))).toEqual([]);

    const actions = (await getJson(`${stack.apiUrl}/runs/${runId}/audit`)).body.items.map((e: { action: string }) => e.action);
    for (const action of ['hris.headcount_checked', 'ats.requisition_opened', 'event.applied', 'esign.envelope_signed', 'hris.employee_created', 'it.account_created', 'it.equipment_ordered', 'task.created', 'task.completed', 'run.completed']) {
      expect(actions).toContain(action);
    }
    const events = await listEvents(stack, { source: 'ats', runId });
    expect(events).toEqual([expect.objectContaining({ type: 'offer.accepted', status: 'applied' })]);
  });

  it('a hire withdrawn after provisioning leaves no active accounts, a cancelled equipment order, its tasks closed (the people who did or held one told) and an audit of the undo', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input: requisition('Platform Engineer'), settings });
    const runId: string = started.body.runId;
    await approveThrough(runId, 'Platform Engineer', ['taylor.brooks@example.com', 'jamie.ortiz@example.com']);
    const startDate = mondayAfter(30);
    const { candidateId } = await candidateAccepts(runId, 'Sam Rivers', 'sam.rivers@mail.test', startDate);
    await signOfferLetter('sam.rivers@mail.test');
    await waitUntil(async () => (await currentStep(runId)).currentStep === 'preparation' || undefined, 'provisioning to finish', 45_000);
    const employee = stack.simulators.hris.employees().find((e) => e.reference === runId)!;
    expect(stack.simulators.it.accounts().filter((a) => a.employeeId === employee.employeeId && a.status === 'active')).toHaveLength(1);

    // Due the policy's working days before Monday's start: 4 → the Tuesday before, 2 → Thursday, 1 → Friday; each
    // followed up a working day earlier (the Monday, Wednesday and Thursday).
    const tasks = await tasksOfRun(stack, runId, 3);
    expect(tasks.map((t) => [t.key, t.dueAt, t.followUpAt])).toEqual([
      ['it-setup', daysBefore(startDate, 6), daysBefore(startDate, 7)],
      ['desk', daysBefore(startDate, 4), daysBefore(startDate, 5)],
      ['manager-checklist', daysBefore(startDate, 3), daysBefore(startDate, 4)],
    ]);
    const laptop = taskOf(tasks, 'it-setup');

    // Kai sees the laptop task on his task page (My approvals), open for IT with its due date, and claims it there.
    const { context, page } = await signedInBrowser(browser, await personInbox(stack).signInLinkFor(itStaff.kai));
    const listed = page.locator('#tasks + p + ol li', { hasText: laptop.title });
    expect(await listed.innerText()).toContain('open for it: claim it');
    expect(await listed.locator('time').getAttribute('datetime')).toBe(daysBefore(startDate, 6));
    expect(await sidewaysOverflow(page)).toBe(0);
    await page.screenshot({ path: `${screenshotDir}hiring-tasks-390px.png`, fullPage: true });
    await page.getByRole('link', { name: laptop.title }).click();
    await page.getByRole('button', { name: 'Claim this task' }).click();
    await expect.poll(() => page.locator('[role=status]').innerText()).toBe('You hold this task now.');
    await context.close();
    const { link: unaLink } = await taskLink(itStaff.una, `Task for it: ${laptop.title}`);
    // Rosa has prepared the desk already.
    const desk = await taskLink(facilities, 'Task for facilities: Desk for Sam Rivers');
    expect((await submitForm(desk.link, { action: 'complete', desk: 'C1.07', badgeReady: 'on' })).status).toBe(200);

    await simulator(`/ats/candidates/${candidateId}/withdraw`, { reason: 'accepted a counter-offer' }, 'dev-ats-key');
    const run = await waitForRunStatus(stack, runId, 'cancelled', 45_000);
    expect(run.outcome).toBe('withdrawn');

    // The open tasks are closed and no link to them works; the done one stays done.
    const closed = await stack.db.task.findMany({ where: { runId }, orderBy: { taskKey: 'asc' } });
    expect(closed.map((t) => [t.taskKey, t.status, t.holderEmail])).toEqual([
      ['desk', 'completed', facilities],
      ['it-setup', 'cancelled', itStaff.kai],
      ['manager-checklist', 'cancelled', manager.email],
    ]);
    expect(await stack.db.approvalRequest.count({ where: { runId, kind: 'task', usedAt: null, revokedAt: null } })).toBe(0);
    expect(await (await fetch(unaLink)).text()).toContain('This link no longer works: the hire of Sam Rivers was called off (accepted a counter-offer).');
    // Whoever did or held one is told to undo it; Una, who only had it offered, is not.
    const recalled = (to: string) => stack.mail.waitFor((m) => m.to.includes(to) && m.subject.startsWith('No longer needed:') && m.subject.includes('Sam Rivers'));
    expect((await recalled(facilities)).text).toContain('You completed this task, and it is no longer needed: the hire of Sam Rivers was called off (accepted a counter-offer).');
    expect((await recalled(itStaff.kai)).text).toContain('You hold this task, and it is no longer needed');
    await recalled(manager.email);
    expect(stack.mail.messages().filter((m) => m.to.includes(itStaff.una) && m.subject.startsWith('No longer needed:'))).toEqual([]);

    expect(stack.simulators.it.accounts().filter((a) => a.employeeId === employee.employeeId && a.status === 'active')).toEqual([]);
    expect(stack.simulators.it.orders().filter((o) => o.employeeId === employee.employeeId).map((o) => o.status)).toEqual(['cancelled']);
    expect(stack.simulators.hris.employees().find((e) => e.employeeId === employee.employeeId)).toMatchObject({ status: 'withdrawn' });
    expect(stack.simulators.esign.envelopes().find((e) => e.reference === runId)).toMatchObject({ status: 'voided' });

    const audit = (await getJson(`${stack.apiUrl}/runs/${runId}/audit`)).body.items as Array<{ action: string; details: Record<string, any> }>;
    const undone = audit.find((e) => e.action === 'hire.undone')!;
    expect(undone.details.reason).toBe('accepted a counter-offer');
    expect(undone.details.undone).toHaveLength(5);
    expect(undone.details.undone[0]).toBe('preparation tasks closed; whoever did or held one told to undo it');
    expect(undone.details.undone[1]).toMatch(/^(account|equipment order)/);
    for (const action of ['compensation.account_deactivated', 'compensation.equipment_cancelled', 'compensation.employee_withdrawn', 'compensation.offer_letter_voided']) {
      expect(audit.map((e) => e.action)).toContain(action);
    }
    expect(audit.filter((e) => e.action === 'task.cancelled').map((e) => e.details.taskId).sort()).toEqual([`${runId}:task:it-setup:1`, `${runId}:task:manager-checklist:1`]);
    expect(audit.filter((e) => e.action === 'task.recalled').map((e) => [e.details.to, e.details.completed]).sort()).toEqual([
      [manager.email, false],
      [itStaff.kai, false],
      [facilities, true],
    ]);
  });

  it('takes an offer recorded by hand over the API, and cancelling the run undoes what was done', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input: requisition('Data Engineer'), settings });
    const runId: string = started.body.runId;
    await approveThrough(runId, 'Data Engineer', ['taylor.brooks@example.com', 'jamie.ortiz@example.com']);
    const offer = { candidateId: 'phone-1', name: 'Ira Novak', email: 'ira.novak@mail.test', startDate: inDays(20), salary: 90_000, currency: 'EUR' };

    const refused = await postJson(`${stack.apiUrl}/runs/${runId}/events`, { source: 'ats', type: 'offer.accepted', data: { ...offer, email: 'not-an-address' } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ status: 'unmatched' });
    expect(refused.body.reason).toContain('email');
    const applied = await postJson(`${stack.apiUrl}/runs/${runId}/events`, { source: 'ats', type: 'offer.accepted', data: offer }, { 'idempotency-key': `offer-${runId}` });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ status: 'applied', runId });
    const again = await postJson(`${stack.apiUrl}/runs/${runId}/events`, { source: 'ats', type: 'offer.accepted', data: offer }, { 'idempotency-key': `offer-${runId}` });
    expect(again.body.eventId).toBe(applied.body.eventId);

    await stack.mail.waitFor((m) => m.to.includes('ira.novak@mail.test') && m.subject.startsWith('Your offer letter'));
    const cancelled = await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'The candidate took another offer' });
    expect(cancelled.status).toBe(202);
    await waitForRunStatus(stack, runId, 'cancelled');
    await waitUntil(async () => stack.simulators.esign.envelopes().find((e) => e.reference === runId)?.status === 'voided' || undefined, 'the offer letter voided');
    const audit = (await getJson(`${stack.apiUrl}/runs/${runId}/audit`)).body.items as Array<{ action: string; actor: string }>;
    expect(audit.find((e) => e.action === 'event.recorded')?.actor).toBe('ops.desk@example.com');
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['compensation.offer_letter_voided', 'hire.undone']));
  });

  it('closes the requisition when no offer is accepted in time', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input: requisition('QA Engineer'), settings: { ...settings, offerTimeout: '2s' } });
    const runId: string = started.body.runId;
    for (const approver of ['taylor.brooks@example.com', 'jamie.ortiz@example.com']) {
      const { link } = await waitForApprovalMail(stack, approver, { subject: /QA Engineer/ });
      await submitDecision(link, 'approve');
    }
    const run = await waitForRunStatus(stack, runId, 'expired');
    expect(run.failureReason).toContain('No offer was accepted');
    expect(stack.simulators.ats.requisitions().find((r) => r.reference === runId)).toMatchObject({ status: 'closed', closeReason: 'expired' });
    await stack.mail.waitFor((m) => m.to.includes(manager.email) && /expired/i.test(m.subject) && m.text.includes('QA Engineer'));
  });

  it('refuses a requisition with field errors', async () => {
    const bad = await postJson(`${stack.apiUrl}/runs`, {
      process: 'hiring',
      input: { ...requisition('X'), level: 'L9', salaryRange: { min: 100_000, max: 90_000, currency: 'EUR' }, closesOn: '2020-01-01' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['input.closesOn', 'input.level', 'input.role', 'input.salaryRange.max']);
  });
});
