import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../api/pages/charts.js';
import type { CapturedMail } from '../../dev/mail-sink.js';
import { ConsoleClient, tableRows } from '../support/console-client.js';
import { buyer, erpEvent, sendEvent } from '../support/events.js';
import { apiClient, approvalLinkIn, getJson, postJson, startRun, submitForm, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';
import { completeTask, taskOf, tasksOfRun } from '../support/tasks.js';

/** Who the demo org (dev/demo-org.ts) has on each incident's rota, chains and departments. */
const people = {
  zoe: 'zoe.adams@example.com', // on call for supply
  ivan: 'ivan.petrov@example.com', // next on the supply rota; no Slack user
  grace: 'grace.huang@example.com', // head of supply
  dana: 'dana.whitfield@example.com', // COO
  sam: 'sam.okafor@example.com', // CFO
  kim: 'kim.park@example.com', // procurement
  sofia: 'sofia.rossi@example.com', // key accounts
  ravi: 'ravi.patel@example.com', // finance controller
  ben: 'ben.carter@example.com', // on call for production
  tom: 'tom.reyes@example.com', // next on the production rota
  nina: 'nina.kowalski@example.com', // head of production
} as const;

/** The policy's timing for these tests: seconds where production has minutes. */
const ACK_SEV1_MS = 4_000;
const STATUS_SEV2_MS = 2_000;
const shortTiming = {
  severities: { sev1: { acknowledgeWithin: '4s', statusEvery: '5s' }, sev2: { acknowledgeWithin: '3s', statusEvery: '2s' }, sev3: { acknowledgeWithin: '3s', statusEvery: '2s' } },
  // The review is overdue 3 s after the resolution, and reminded every second from then.
  review: { dueWithin: '3s' },
  tasks: { reminderEvery: '1s' },
};

const to = (email: string) => (m: CapturedMail) => m.to.includes(email);

/** The field's block on a rendered form: its label, error and control, up to the next field. */
function fieldBlock(page: string, name: string): string {
  const start = page.lastIndexOf('<div class="field">', page.indexOf(`name="${name}"`));
  return page.slice(start, page.indexOf('</div>', page.indexOf(`name="${name}"`)));
}

/**
 * The incident process through the real stack (API, Temporal, PostgreSQL, SMTP, the Slack simulator): paging and its
 * escalation along the rota and the severity's chain, acknowledgement by link and API, the declaration and the
 * departments' tasks, timed status updates, the resolution, the review and its actions, and the KPIs.
 */
describe('incident: page, escalate, acknowledge, coordinate, update, resolve, review', () => {
  let stack: Stack;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startStack({ slack: true });
    for (const email of [people.zoe, people.ivan, people.ben, people.tom, people.kim, people.sofia, people.ravi]) keys[email] = await stack.createKey(email, ['incidents:write', 'tasks:write']);
    // Seconds instead of minutes (OPSFLOW_ALLOW_SHORT_DURATIONS): events start runs under the stored policy.
    const client = apiClient(stack);
    const { data: current } = await client.GET('/processes/{key}/policy', { params: { path: { key: 'incident' } } });
    const policy = structuredClone(current!.policy) as Record<string, Record<string, unknown>>;
    for (const [level, timing] of Object.entries(shortTiming.severities)) Object.assign(policy.severities![level] as object, timing);
    Object.assign(policy.review!, shortTiming.review);
    Object.assign(policy.tasks!, shortTiming.tasks);
    const saved = await client.PUT('/processes/{key}/policy', { params: { path: { key: 'incident' } }, body: { policy, reason: 'seconds for the tests' } });
    expect(saved.response.status, JSON.stringify(saved.error)).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const slack = () => stack.simulators.slack;
  const auditOf = (runId: string, action: string) => stack.db.auditEntry.findMany({ where: { runId, action }, orderBy: { id: 'asc' } });
  const incidentApi = (key: string) => apiClient(stack, key);

  it('a supply disruption nobody acknowledges escalates along the rota to the COO on the policy’s timing; an acknowledgement after that records who and stops it; then the owner coordinates, updates and resolves, and the review’s actions become tasks', async () => {
    const disruptionId = `DIS-${randomUUID().slice(0, 8)}`;
    const title = `Resin deliveries stopped ${disruptionId}`;
    const data = { disruptionId, title, supplier: 'Polymer AG', material: 'PA12 resin', severity: 'sev1', description: 'Polymer AG stopped all resin deliveries after a fire.', reportedBy: buyer };
    const started = await sendEvent(stack, erpEvent('supply.disruption', data));
    expect(started.body).toMatchObject({ status: 'started' });
    const runId: string = started.body.runId;
    // The ERP sends it again (another delivery, the same disruption): one incident.
    const again = await sendEvent(stack, erpEvent('supply.disruption', { ...data, description: 'Repeated' }));
    expect(again.body).toMatchObject({ status: 'unmatched', reason: 'incident: a run for this key already exists' });
    expect(await stack.db.run.count({ where: { process: 'incident', correlationKey: `erp:${disruptionId}` } })).toBe(1);

    // Nobody acknowledges: on call, next on the rota, head of supply, then the COO.
    const subject = `SEV1 supply: ${title}`;
    const zoePage = await stack.mail.waitFor((m) => to(people.zoe)(m) && m.subject === `Incident: ${subject}: acknowledge within 4s`);
    expect(zoePage.text).toContain('You are paged as on call for supply.');
    const ivanPage = await stack.mail.waitFor((m) => to(people.ivan)(m) && m.subject.startsWith(`Escalated incident: ${subject}`), { timeoutMs: 30_000 });
    expect(ivanPage.text).toContain('Nobody acknowledged this incident in time (Zoe Adams was paged), so it is paged to you as next on the supply rota.');
    await stack.mail.waitFor((m) => to(people.grace)(m) && m.subject.startsWith(`Escalated incident: ${subject}`), { timeoutMs: 30_000 });
    const danaPage = await stack.mail.waitFor((m) => to(people.dana)(m) && m.subject.startsWith(`Escalated incident: ${subject}`), { timeoutMs: 30_000 });
    expect(danaPage.text).toContain('(Zoe Adams, Ivan Petrov, Grace Huang were paged), so it is paged to you as coo.');

    const pages = await waitUntil(async () => {
      const entries = await stack.db.auditEntry.findMany({ where: { runId, action: { in: ['incident.paged', 'incident.escalated'] } }, orderBy: { id: 'asc' } });
      return entries.length === 4 && entries;
    }, 'four pages in the audit');
    expect(pages.map((e) => [e.action, (e.details as { to: string }).to, (e.details as { level: number }).level])).toEqual([
      ['incident.paged', people.zoe, 0],
      ['incident.escalated', people.ivan, 1],
      ['incident.escalated', people.grace, 2],
      ['incident.escalated', people.dana, 3],
    ]);
    // Each level had the severity's acknowledgement time before the page went on.
    for (let level = 1; level < pages.length; level++) expect(pages[level]!.at.getTime() - pages[level - 1]!.at.getTime()).toBeGreaterThanOrEqual(ACK_SEV1_MS);
    // Slack where the person has a user: Zoe, Grace and Dana got a message with their own link; Ivan has none.
    const zoeMessage = slack().messagesFor('U0ZOE').find((m) => m.text.includes(title))!;
    expect(JSON.stringify(zoeMessage.blocks)).toContain(approvalLinkIn(zoePage));
    expect(slack().messagesFor('U0DANA').filter((m) => m.text.includes(title))).toHaveLength(1);
    expect(pages.map((e) => (e.details as { slack: boolean }).slack)).toEqual([true, false, true, true]);

    // Ivan, paged at level 1, acknowledges by his link after the page reached the COO: he owns it.
    const ivanLink = approvalLinkIn(ivanPage);
    expect(await (await fetch(ivanLink)).text()).toContain('>Acknowledge</button>');
    const acked = await submitForm(ivanLink, { action: 'acknowledge' });
    expect(acked.status).toBe(200);
    expect(acked.html).toContain('Acknowledged: the paging stopped, and you own this incident.');
    const [ack] = await auditOf(runId, 'incident.acknowledged');
    expect(ack).toMatchObject({ actor: people.ivan, details: { level: 1, reached: 3, channel: 'link', breached: true } });
    expect((ack!.details as { secondsToAcknowledge: number }).secondsToAcknowledge).toBeGreaterThanOrEqual((3 * ACK_SEV1_MS) / 1000);
    const incident = await stack.db.incident.findUniqueOrThrow({ where: { runId } });
    expect(incident).toMatchObject({ acknowledgedBy: people.ivan, acknowledgedByName: 'Ivan Petrov', escalationLevel: 3 });
    // Everyone else's page stops: the COO's link says who acknowledged, Zoe's Slack message is closed in place.
    const danaTry = await submitForm(approvalLinkIn(danaPage), { action: 'acknowledge' });
    expect(danaTry.status).toBe(410);
    expect(danaTry.html).toContain('This link no longer works: the incident was acknowledged by Ivan Petrov.');
    const zoeClosed = slack().messagesFor('U0ZOE').find((m) => m.ts === zoeMessage.ts)!;
    expect(zoeClosed.text).toContain('Acknowledged by Ivan Petrov');
    expect(JSON.stringify(zoeClosed.blocks)).not.toContain('/approvals/');
    const zoeTry = await incidentApi(keys[people.zoe]!).POST('/incidents/{id}/acknowledge', { params: { path: { id: runId } } });
    expect(zoeTry.response.status).toBe(409);
    expect(zoeTry.error?.error).toMatchObject({ message: 'Ivan Petrov (ivan.petrov@example.com) already acknowledged this incident.', details: { acknowledgedBy: { email: people.ivan } } });

    // The declaration: refused beside its fields with the values kept, then accepted; three departments get tasks.
    const declareMail = await stack.mail.waitFor((m) => to(people.ivan)(m) && m.subject.startsWith(`Task for you: Declare the impact: ${title}`));
    const declareLink = approvalLinkIn(declareMail);
    const refused = await submitForm(declareLink, { action: 'complete', impact: 'Bad', askProcurement: 'on', ordersAtRisk: '12' });
    expect(refused.status).toBe(422);
    expect(fieldBlock(refused.html, 'impact')).toContain('say what is hit and how badly, in a sentence or two');
    expect(fieldBlock(refused.html, 'impact')).toMatch(/name="impact"[^>]* aria-invalid="true"[^>]*>Bad<\/textarea>/);
    expect(fieldBlock(refused.html, 'brief')).toContain('tell the departments you ask what they need to know');
    expect(refused.html).toMatch(/name="askProcurement" checked/);
    expect(fieldBlock(refused.html, 'ordersAtRisk')).toContain('value="12"');
    const impact = 'PA12 parts for lines 1 and 2 run out on Friday; 12 customer orders slip.';
    const declared = await submitForm(declareLink, { action: 'complete', impact, ordersAtRisk: '12', askProcurement: 'on', askSales: 'on', askFinance: 'on', brief: 'Polymer AG is out for three weeks.' });
    expect(declared.status).toBe(200);
    const tasks = await tasksOfRun(stack, runId, 4);
    expect(tasks.filter((t) => t.step === 'respond').map((t) => [t.key, t.candidateGroup]).sort()).toEqual([
      ['alternate-supplier', 'procurement'],
      ['estimate-cost', 'finance-controller'],
      ['inform-customers', 'key-accounts'],
    ]);
    // The departments see the declared impact in their task's facts.
    const kimMail = await stack.mail.waitFor((m) => to(people.kim)(m) && m.subject.startsWith(`Task for procurement: Find an alternate supplier: ${title}`));
    expect(kimMail.text).toContain(`Impact: ${impact}`);
    expect(kimMail.text).toContain('From Ivan Petrov, who owns the incident: Polymer AG is out for three weeks.');

    // Finance's form refuses a negative cost and a bad currency beside the fields, keeping what was typed.
    const raviLink = approvalLinkIn(await stack.mail.waitFor((m) => to(people.ravi)(m) && m.subject.startsWith(`Task for finance-controller: Estimate the cost: ${title}`)));
    const badEstimate = await submitForm(raviLink, { action: 'complete', estimatedCost: '-5', currency: 'EURO', basis: 'Air freight' });
    expect(badEstimate.status).toBe(422);
    expect(fieldBlock(badEstimate.html, 'estimatedCost')).toContain('must be greater than 0');
    expect(fieldBlock(badEstimate.html, 'estimatedCost')).toContain('value="-5"');
    expect(fieldBlock(badEstimate.html, 'currency')).toContain('is not a known ISO 4217 currency');
    expect(fieldBlock(badEstimate.html, 'currency')).toContain('value="EURO"');
    expect((await submitForm(raviLink, { action: 'complete', estimatedCost: '84000', currency: 'EUR', basis: 'Air freight for three weeks' })).status).toBe(200);
    const done = async (key: string, email: string, values: Record<string, unknown>) => {
      const answer = await completeTask(stack, keys[email]!, taskOf(tasks, key).taskId, values);
      expect(answer.status, JSON.stringify(answer.error)).toBe(200);
    };
    await done('alternate-supplier', people.kim, { supplier: 'Resinco', availableFrom: '2027-01-12', extraCostPerUnit: 0.4 });
    await done('inform-customers', people.sofia, { customersInformed: 7, customersAtRisk: 'Trailworks' });

    // Status: the owner's page refuses an empty one beside its field, then posts it; the next update carries it and
    // the one after says nobody posted since.
    const emptyStatus = await submitForm(ivanLink, { action: 'status', text: '  ' });
    expect(emptyStatus.status).toBe(422);
    expect(emptyStatus.html).toContain('<p class="field-error" id="field-text-error">Write the status: the stakeholders read it in the next update</p>');
    const statusText = 'Resinco ships 4 t on Thursday; lines 1 and 2 keep running on stock until then.';
    expect((await submitForm(ivanLink, { action: 'status', text: statusText })).status).toBe(200);
    const withStatus = await stack.mail.waitFor((m) => to(people.sam)(m) && m.subject.startsWith('Status update') && m.text.includes(statusText), { timeoutMs: 30_000 });
    expect(withStatus.text).toContain(`Status from Ivan Petrov at `);
    expect(withStatus.text).toContain('Acknowledged by Ivan Petrov (next on the supply rota)');
    expect(withStatus.text).toContain(`Find an alternate supplier: ${title}: done by Kim Park`);
    const number = Number(/^Status update (\d+):/.exec(withStatus.subject)![1]);
    const next = await stack.mail.waitFor((m) => to(people.sam)(m) && m.subject.startsWith(`Status update ${number + 1}: ${subject}`), { timeoutMs: 30_000 });
    expect(next.text).toMatch(/No new status was posted since the last update \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)\./);
    // Before anyone acknowledged, the updates said who was being paged.
    const first = stack.mail.messages().find((m) => to(people.sam)(m) && m.subject === `Status update 1: ${subject}`)!;
    expect(first.text).toMatch(/Not acknowledged yet: paged to Zoe Adams(, Ivan Petrov)?/);
    // Every stakeholder of a SEV1 gets them: the COO, the head of supply and the CFO.
    expect(stack.mail.messages().filter((m) => m.subject === `Status update 1: ${subject}`).flatMap((m) => m.to).sort()).toEqual([people.dana, people.grace, people.sam]);

    // Only the owner resolves, with a summary.
    const resolveAs = (key: string, summary: string) => incidentApi(key).POST('/incidents/{id}/resolve', { params: { path: { id: runId } }, body: { summary } });
    expect((await resolveAs(keys[people.zoe]!, 'Resinco delivers from Thursday')).response.status).toBe(403);
    const tooShort = await resolveAs(keys[people.ivan]!, 'done');
    expect(tooShort.response.status).toBe(422);
    expect(tooShort.error?.error.details?.issues).toEqual([{ path: 'summary', message: 'Say how it was resolved, in a sentence or two' }]);
    const resolution = 'Resinco covers the volume until Polymer AG is back; lines 1 and 2 never stopped.';
    const resolved = await resolveAs(keys[people.ivan]!, resolution);
    expect(resolved.data).toMatchObject({ status: 'resolved', acknowledgedBy: { email: people.ivan }, escalationLevel: 3, breached: true, resolution });
    const told = await stack.mail.waitFor((m) => to(buyer.email)(m) && m.subject === `Resolved: ${subject}`);
    expect(told.text).toContain(`Ivan Petrov resolved this incident at `);
    expect(told.text).toContain(resolution);
    // The review: its actions are refused with a due date in the past, then each becomes a task.
    const reviewLink = approvalLinkIn(await stack.mail.waitFor((m) => to(people.ivan)(m) && m.subject.startsWith(`Task for you: Post-incident review: ${title}`)));
    const review = { action: 'complete', summary: 'A fire at Polymer AG stopped resin for three weeks.', rootCause: 'One qualified resin supplier.' };
    const rows = (dueOn: string) => ({
      'actions.0.action': 'Qualify a second resin supplier',
      'actions.0.owner': 'procurement',
      'actions.0.dueOn': dueOn,
      'actions.1.action': 'Add resin to the weekly supply-risk report',
      'actions.1.owner': 'owner',
      'actions.1.dueOn': '2099-01-31',
    });
    const late = await submitForm(reviewLink, { ...review, ...rows('2020-01-01') });
    expect(late.status).toBe(422);
    expect(fieldBlock(late.html, 'actions.0.dueOn')).toContain('must be today or later');
    expect(fieldBlock(late.html, 'actions.0.dueOn')).toContain('value="2020-01-01"');
    expect((await submitForm(reviewLink, { ...review, ...rows('2099-01-15') })).status).toBe(200);
    const actions = (await tasksOfRun(stack, runId, 7)).filter((t) => t.step === 'actions');
    expect(actions.map((t) => [t.title, t.candidateGroup, t.holder?.email ?? null, t.dueAt])).toEqual([
      [`Qualify a second resin supplier (${title})`, 'procurement', null, '2099-01-15T23:59:59.000Z'],
      [`Add resin to the weekly supply-risk report (${title})`, null, people.ivan, '2099-01-31T23:59:59.000Z'],
    ]);
    for (const [action, email, values] of [[actions[0]!, people.kim, { done: 'Resinco qualified' }], [actions[1]!, people.ivan, { done: 'In the report from week 3' }]] as const) {
      const answer = await completeTask(stack, keys[email]!, action.taskId, values);
      expect(answer.status, JSON.stringify(answer.error)).toBe(200);
    }
    const run = await waitForRunStatus(stack, runId, 'completed');
    expect(run.outcome).toBe('resolved');

    // The whole timeline is in the audit, in order.
    const timeline = (await stack.db.auditEntry.findMany({ where: { runId, action: { startsWith: 'incident.' } }, orderBy: { id: 'asc' } })).map((e) => e.action);
    expect(timeline.filter((a) => a !== 'incident.status_update_sent')).toEqual([
      'incident.opened',
      'incident.paged',
      'incident.escalated',
      'incident.escalated',
      'incident.escalated',
      'incident.acknowledged',
      'incident.status_posted',
      'incident.resolved',
      'incident.resolution_sent',
    ]);

    // KPIs: time to acknowledge and to resolve, from the incident's own record, and the breach.
    const row = await stack.db.incident.findUniqueOrThrow({ where: { runId } });
    const secondsTo = (at: Date | null) => (at!.getTime() - row.openedAt.getTime()) / 1000;
    const { data: kpis } = await apiClient(stack).GET('/kpis', { params: { query: { process: 'incident' } } });
    const sev1 = kpis!.incidents.find((i) => i.severity === 'sev1')!;
    expect(sev1).toMatchObject({ opened: 1, acknowledged: 1, breaches: 1, escalated: 1, resolved: 1, open: 0 });
    expect(sev1.timeToAcknowledge.p50).toBeCloseTo(secondsTo(row.acknowledgedAt), 3);
    expect(sev1.timeToResolve.p50).toBeCloseTo(secondsTo(row.resolvedAt), 3);
    const browser = new ConsoleClient(stack.apiUrl);
    expect((await browser.signIn(stack.adminKey)).status).toBe(303);
    const dashboard = await browser.get('/ops?process=incident');
    expect(tableRows(dashboard.html, 'incidents').find((r) => r.Severity === 'SEV1')).toMatchObject({
      Opened: '1',
      Acknowledged: '1',
      'Time to acknowledge p50': formatDuration(secondsTo(row.acknowledgedAt)),
      Breaches: '1',
      Escalated: '1',
      Resolved: '1',
      'Time to resolve p50': formatDuration(secondsTo(row.resolvedAt)),
    });
  });

  it('started over the API, the on-call owner acknowledges in time by API: the page goes no further, a second acknowledgement is told who was first; after the resolution no update goes out', async () => {
    const title = `Filler on line 2 stopped ${randomUUID().slice(0, 6)}`;
    const started = await startRun(stack, {
      process: 'incident',
      input: { title, area: 'production', severity: 'sev2', description: 'The filler on line 2 threw a servo fault.', affected: 'Line 2', requester: { name: 'Ops Desk', email: 'ops.desk@example.com' } },
    });
    expect(started.status, JSON.stringify(started.error)).toBe(201);
    const runId = started.run!.runId;
    const message = await waitUntil(async () => slack().messagesFor('U0BEN').find((m) => m.text.includes(title)), 'the page in Ben’s Slack');
    await stack.mail.waitFor((m) => to(people.ben)(m) && m.subject.startsWith('Incident: SEV2 production'));

    const acked = await incidentApi(keys[people.ben]!).POST('/incidents/{id}/acknowledge', { params: { path: { id: runId } } });
    expect(acked.data).toMatchObject({ status: 'acknowledged', acknowledgedBy: { email: people.ben, name: 'Ben Carter' }, escalationLevel: 0, breached: false });
    const closed = slack().messagesFor('U0BEN').find((m) => m.ts === message.ts)!;
    expect(closed.updates).toHaveLength(1);
    expect(closed.text).toContain('Acknowledged by Ben Carter');
    const [ack] = await auditOf(runId, 'incident.acknowledged');
    expect(ack).toMatchObject({ actor: people.ben, details: { level: 0, reached: 0, channel: 'api', breached: false } });

    const twice = await incidentApi(keys[people.ben]!).POST('/incidents/{id}/acknowledge', { params: { path: { id: runId } } });
    expect(twice.response.status).toBe(409);
    expect(twice.error?.error.message).toBe('Ben Carter (ben.carter@example.com) already acknowledged this incident.');
    // Tom was never paged: he can neither acknowledge nor post its status.
    expect((await incidentApi(keys[people.tom]!).POST('/incidents/{id}/status', { params: { path: { id: runId } }, body: { text: 'Fixed?' } })).response.status).toBe(403);

    // Three status updates later (6 s, twice the acknowledgement time) nobody else was paged.
    await waitUntil(async () => (await auditOf(runId, 'incident.status_update_sent')).length >= 3, 'three status updates', 30_000);
    expect(await auditOf(runId, 'incident.escalated')).toEqual([]);
    const pagesSent = stack.mail.messages().filter((m) => /^(Escalated incident|Incident): /.test(m.subject) && m.subject.includes(title));
    expect(pagesSent.map((m) => m.to)).toEqual([[people.ben]]);
    const view = await getJson(`${stack.apiUrl}/incidents/${runId}`);
    expect(view.body).toMatchObject({ status: 'acknowledged', escalationLevel: 0, paged: [{ email: people.ben, as: 'on call for production', level: 0, linkWorks: true }] });

    // Ben posts a status and resolves: the stakeholders and the reporter are told, and the updates stop. The review
    // falls overdue 3 s later, past the next update's time (2 s), and still no update was sent after the resolution.
    const ben = incidentApi(keys[people.ben]!);
    expect((await ben.POST('/incidents/{id}/status', { params: { path: { id: runId } }, body: { text: 'Servo replaced, test run at 14:00' } })).response.status).toBe(200);
    const resolved = await ben.POST('/incidents/{id}/resolve', { params: { path: { id: runId } }, body: { summary: 'Servo replaced; line 2 back at full speed.' } });
    expect(resolved.data).toMatchObject({ status: 'resolved', lastStatus: 'Servo replaced, test run at 14:00' });
    const resolvedMails = await waitUntil(async () => {
      const sent = stack.mail.messages().filter((m) => m.subject === `Resolved: SEV2 production: ${title}`);
      return sent.length === 3 && sent;
    }, 'the resolution to the COO, the head of production and the reporter');
    expect(resolvedMails.flatMap((m) => m.to).sort()).toEqual([people.dana, people.nina, 'ops.desk@example.com']);
    const overdue = await stack.mail.waitFor((m) => to(people.ben)(m) && m.subject.startsWith(`Overdue: Post-incident review: ${title}`), { timeoutMs: 30_000 });
    const [resolvedEntry] = await auditOf(runId, 'incident.resolved');
    expect(overdue.receivedAt.getTime() - resolvedEntry!.at.getTime()).toBeGreaterThan(STATUS_SEV2_MS);
    const after = await stack.db.auditEntry.findMany({ where: { runId, action: { in: ['incident.status_update_sent', 'incident.resolution_sent'] }, id: { gt: resolvedEntry!.id } } });
    expect(after.map((e) => e.action)).toEqual(['incident.resolution_sent']);
    // Resolved before anyone declared the impact: the declaration closed, saying so.
    const declaration = taskOf(await tasksOfRun(stack, runId, 2), 'declare-impact');
    expect(declaration).toMatchObject({ status: 'cancelled', closedReason: 'the incident was resolved before its impact was declared' });

    // Cancelled: the open review closes and Ben's page link stops working.
    expect((await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'Reviewed in the weekly operations meeting' })).status).toBe(202);
    await waitForRunStatus(stack, runId, 'cancelled');
    expect(await stack.db.approvalRequest.count({ where: { runId, usedAt: null, revokedAt: null } })).toBe(0);
  });

  it('a monitoring alert without a reporter is refused with its field; a line.down starts one incident per alert', async () => {
    const alertId = `ALR-${randomUUID().slice(0, 8)}`;
    const monitoring = (data: Record<string, unknown>) => sendEvent(stack, erpEvent('line.down', data), 'monitoring');
    const invalid = await monitoring({ alertId, line: 'Line 4' });
    expect(invalid.body).toMatchObject({ status: 'invalid', issues: [{ path: 'data.requester', message: expect.any(String) }] });
    const started = await monitoring({ alertId: `${alertId}-b`, line: 'Line 4', severity: 'sev3', reportedBy: { name: 'Ops Desk', email: 'ops.desk@example.com' } });
    expect(started.body).toMatchObject({ status: 'started', runId: `incident-key-monitoring_${alertId}-b` });
    const repeat = await monitoring({ alertId: `${alertId}-b`, line: 'Line 4', reportedBy: { name: 'Ops Desk', email: 'ops.desk@example.com' } });
    expect(repeat.body).toMatchObject({ status: 'unmatched' });
    await stack.mail.waitFor((m) => to(people.ben)(m) && m.subject.startsWith('Incident: SEV3 production: Line down: Line 4'));
    expect((await postJson(`${stack.apiUrl}/runs/${started.body.runId}/cancel`, { reason: 'Sensor fault, the line runs' })).status).toBe(202);
    await waitForRunStatus(stack, started.body.runId, 'cancelled');
    const benPage = slack().messagesFor('U0BEN').find((m) => m.text.includes('Line down: Line 4'))!;
    expect(benPage.text).toContain('The run was cancelled');
  });

  it('ops staff start one from the console: area and severity are choices, and a bad form is refused beside its fields', async () => {
    const browser = new ConsoleClient(stack.apiUrl);
    expect((await browser.signIn(stack.adminKey)).status).toBe(303);
    const form = await browser.get('/ops/start/incident');
    expect(form.html).toMatch(/<select id="field-area" name="area"><option value="supply">supply<\/option><option value="production">production<\/option><\/select>/);
    expect(form.html).toContain('<option value="sev1">sev1</option>');
    const refused = await browser.post('/ops/start/incident', { title: 'X', area: 'supply', severity: 'sev2', description: 'Conveyor 3 stopped', 'requester.name': 'Ops Desk', 'requester.email': 'ops.desk@example.com' });
    expect(refused.status).toBe(422);
    expect(fieldBlock(refused.html, 'title')).toContain('must be at least 3 characters');
    expect(fieldBlock(refused.html, 'description')).toContain('>Conveyor 3 stopped</textarea>');
    expect(await stack.db.run.count({ where: { process: 'incident', title: { contains: 'Conveyor' } } })).toBe(0);
  });

  it('an acknowledgement after the page escalated records who and at which level they were paged, and the page goes no further', async () => {
    const alertId = `ALR-${randomUUID().slice(0, 8)}`;
    const started = await sendEvent(stack, erpEvent('line.down', { alertId, line: 'Line 5', severity: 'sev3', reportedBy: { name: 'Ops Desk', email: 'ops.desk@example.com' } }), 'monitoring');
    const runId: string = started.body.runId;
    const subject = 'SEV3 production: Line down: Line 5';
    const benPage = await stack.mail.waitFor((m) => to(people.ben)(m) && m.subject.startsWith(`Incident: ${subject}`));
    const tomPage = await stack.mail.waitFor((m) => to(people.tom)(m) && m.subject.startsWith(`Escalated incident: ${subject}`), { timeoutMs: 30_000 });
    // Ben, the on-call owner, acknowledges by his own link after it went on to Tom.
    expect((await submitForm(approvalLinkIn(benPage), { action: 'acknowledge' })).status).toBe(200);
    const [ack] = await auditOf(runId, 'incident.acknowledged');
    expect(ack).toMatchObject({ actor: people.ben, details: { level: 0, reached: 1, channel: 'link', breached: true } });
    expect(await (await fetch(approvalLinkIn(tomPage))).text()).toContain('This link no longer works: the incident was acknowledged by Ben Carter.');
    // Three status updates after it (6 s, twice the acknowledgement time): the head of production was never paged.
    await waitUntil(async () => (await stack.db.auditEntry.count({ where: { runId, action: 'incident.status_update_sent', id: { gt: ack!.id } } })) >= 3, 'three status updates after the acknowledgement', 30_000);
    const pages = await stack.db.auditEntry.findMany({ where: { runId, action: { in: ['incident.paged', 'incident.escalated'] } }, orderBy: { id: 'asc' } });
    expect(pages.map((e) => (e.details as { to: string }).to)).toEqual([people.ben, people.tom]);
    expect(stack.mail.messages().filter((m) => to(people.nina)(m) && m.subject.includes(`incident: ${subject}`))).toEqual([]);
    expect((await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'Line 5 runs again' })).status).toBe(202);
    await waitForRunStatus(stack, runId, 'cancelled');
  });
});
