import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capexInput, quickTiming } from '../support/fixtures.js';
import { approvalLinkIn, getJson, postJson, submitDecision, waitForApprovalMail, waitUntil } from '../support/http.js';
import { startStack, terminateRuns, type Stack } from '../support/stack.js';

describe('schedules', () => {
  let stack: Stack;
  const scheduleId = `spend-review-${Date.now().toString(36)}`;
  beforeAll(async () => {
    stack = await startStack();
  });
  const twinId = `${scheduleId}-twin`;
  afterAll(async () => {
    for (const id of [scheduleId, twinId]) {
      await fetch(`${stack.apiUrl}/schedules/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${stack.adminKey}` } }).catch(() => undefined);
    }
    if (stack) await terminateRuns(stack);
    await stack?.stop();
  });

  it('refuses a schedule with a bad interval, cron, time zone or input, naming each field', async () => {
    const answer = await postJson(`${stack.apiUrl}/schedules`, { id: 'Bad Name', process: 'capex', input: capexInput(), every: 'weekly', timezone: 'Mars/Olympus' });
    expect(answer.status).toBe(422);
    expect(answer.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['every', 'id', 'timezone']);
    const both = await postJson(`${stack.apiUrl}/schedules`, { id: 'both-given', process: 'capex', input: capexInput(), every: '1d', cron: '0 9 1 * *' });
    expect(both.body.error.details.issues).toEqual([{ path: 'every', message: 'give exactly one of "every" or "cron"' }]);
    const badInput = await postJson(`${stack.apiUrl}/schedules`, { id: 'bad-input', process: 'capex', input: capexInput({ amount: -1 }), every: '1d' });
    expect(badInput.status).toBe(422);
    expect(badInput.body.error.details.issues[0].path).toBe('input.amount');
  });

  it('starts runs on its interval, each recorded and visible, until paused; then deletes', async () => {
    const created = await postJson(`${stack.apiUrl}/schedules`, {
      id: scheduleId,
      process: 'capex',
      input: capexInput({ title: 'Monthly tooling budget', amount: 2_000 }),
      settings: quickTiming,
      every: '2s',
      note: 'test schedule',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: scheduleId, process: 'capex', every: '2s', paused: false });
    expect(created.body.nextRunTimes.length).toBeGreaterThan(0);

    const runs = await waitUntil(async () => {
      const rows = await stack.db.run.findMany({ where: { scheduleId } });
      return rows.length >= 2 ? rows : undefined;
    }, 'two scheduled runs', 30_000);
    expect(runs.every((r) => r.trigger === 'schedule' && r.process === 'capex' && r.title === 'Monthly tooling budget')).toBe(true);
    const run = await getJson(`${stack.apiUrl}/runs/${runs[0]!.id}`);
    expect(run.status).toBe(200);
    expect(run.body.timeline.some((entry: { action: string; actor: string }) => entry.action === 'run.started' && entry.actor === `schedule:${scheduleId}`)).toBe(true);
    await stack.mail.waitFor((m) => m.subject.includes('Monthly tooling budget'));

    // A twin on the same 2 s boundaries (intervals count from the epoch) stays unpaused: each run it starts after the
    // pause marks a boundary where the paused schedule, had the pause not held, would have started one too.
    const twin = await postJson(`${stack.apiUrl}/schedules`, { id: twinId, process: 'capex', input: capexInput({ title: 'Tooling budget twin', amount: 2_000 }), settings: quickTiming, every: '2s' });
    expect(twin.status).toBe(201);

    const paused = await postJson(`${stack.apiUrl}/schedules/${scheduleId}/pause`, { note: 'budget freeze' });
    expect(paused.body).toMatchObject({ paused: true, note: 'budget freeze' });
    const listed = await getJson(`${stack.apiUrl}/schedules`);
    expect(listed.body.items.find((s: { id: string }) => s.id === scheduleId)).toMatchObject({ paused: true });
    // Temporal's count as the pause took effect (the description already says paused, so it counts every earlier run).
    const startedAtPause = paused.body.runsStarted as number;
    const twinStartedAtPause = (await getJson(`${stack.apiUrl}/schedules/${twinId}`)).body.runsStarted as number;

    await waitUntil(async () => (await getJson(`${stack.apiUrl}/schedules/${twinId}`)).body.runsStarted >= twinStartedAtPause + 2 || undefined, 'the unpaused twin to start two runs after the pause', 30_000);
    expect((await getJson(`${stack.apiUrl}/schedules/${scheduleId}`)).body.runsStarted).toBe(startedAtPause);
    const recorded = await waitUntil(async () => {
      const count = await stack.db.run.count({ where: { scheduleId } });
      return count >= startedAtPause ? count : undefined;
    }, 'the runs started before the pause to be recorded');
    expect(recorded).toBe(startedAtPause);

    const deleted = await fetch(`${stack.apiUrl}/schedules/${scheduleId}`, { method: 'DELETE', headers: { authorization: `Bearer ${stack.adminKey}` } });
    expect(deleted.status).toBe(204);
    expect((await getJson(`${stack.apiUrl}/schedules/${scheduleId}`)).status).toBe(404);
  });
});

describe('annual supplier re-screening as a schedule', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('screens every active vendor; compliance rejecting a match blocks it in the ERP', async () => {
    const base = { reference: 'seed', country: 'DE', taxId: 'x', address: { line1: 'a', city: 'b', postalCode: '10115', country: 'DE' }, bank: { accountHolder: 'c' }, category: 'logistics', contactEmail: 'a@b.test' };
    const clean = stack.simulators.erp.createVendor({ ...base, reference: 'seed-1', legalName: 'Clean Freight GmbH', taxId: 't1' });
    const listed = stack.simulators.erp.createVendor({ ...base, reference: 'seed-2', legalName: 'Nordlicht Handels GmbH', taxId: 't2' });
    // Since it was onboarded, the supplier has been listed.
    stack.simulators.screening.addToWatchlist('Nordlicht Handels');

    const id = `rescreen-${Date.now().toString(36)}`;
    const created = await postJson(`${stack.apiUrl}/schedules`, { id, process: 'supplier-rescreening', input: {}, cron: '0 6 15 1 *', timezone: 'Europe/Berlin' });
    expect(created.status).toBe(201);
    expect(created.body.nextRunTimes[0]).toMatch(/-01-15T0[56]:00:00/);
    expect((await postJson(`${stack.apiUrl}/schedules/${id}/trigger`, {})).status).toBe(202);

    const run = await waitUntil(async () => (await stack.db.run.findFirst({ where: { scheduleId: id } })) ?? undefined, 'the triggered run');
    const { mail, link } = await waitForApprovalMail(stack, 'chris.mendes@example.com', { subject: /Supplier re-screening/ });
    expect(mail.text).toContain('Nordlicht Handels GmbH');
    await submitDecision(link, 'reject', 'Listed since March; stop all payments');
    await waitUntil(async () => (await stack.db.run.findUniqueOrThrow({ where: { id: run.id } })).status === 'completed' || undefined, 'the re-screening to finish');
    expect(stack.simulators.erp.vendors().find((v) => v.vendorId === listed.vendorId)).toMatchObject({ status: 'blocked', blockedReason: 'Listed since March; stop all payments' });
    expect(stack.simulators.erp.vendors().find((v) => v.vendorId === clean.vendorId)).toMatchObject({ status: 'active' });
    await fetch(`${stack.apiUrl}/schedules/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${stack.adminKey}` } });
  });

  it('pages through more vendors than one execution holds, continuing as new, screening each one once', async () => {
    const base = { country: 'DE', address: { line1: 'a', city: 'b', postalCode: '10115', country: 'DE' }, bank: { accountHolder: 'c' }, category: 'logistics', contactEmail: 'a@b.test' };
    for (const [i, name] of ['Alpen Logistik AG', 'Baltic Paper GmbH', 'Kestrel Metals GmbH', 'Danube Parts GmbH', 'Elbe Textil GmbH'].entries()) {
      stack.simulators.erp.createVendor({ ...base, reference: `page-${i}`, legalName: name, taxId: `p${i}` });
    }
    stack.simulators.screening.addToWatchlist('Kestrel Metals');
    const active = stack.simulators.erp.vendors().filter((v) => v.status === 'active');
    const hits = active.filter((v) => /Kestrel Metals/.test(v.legalName));

    // Two vendors per execution: the run must continue as new more than once.
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'supplier-rescreening', input: {}, settings: { vendorsPerExecution: 2 } });
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;
    for (const hit of hits) {
      const mail = await stack.mail.waitFor((m) => m.to.includes('chris.mendes@example.com') && m.text.includes(`Keep ${hit.legalName} (${hit.vendorId})?`));
      expect((await submitDecision(approvalLinkIn(mail), 'approve', 'False positive: different company')).status).toBe(200);
    }
    await waitUntil(async () => (await stack.db.run.findUniqueOrThrow({ where: { id: runId } })).status === 'completed' || undefined, 'the re-screening to finish');

    const result = await stack.temporal.workflow.getHandle(runId).result();
    expect(result).toEqual({ screened: active.length, hits: hits.length, blocked: [] });
    const executions = await waitUntil(async () => {
      const seen = [];
      for await (const execution of stack.temporal.workflow.list({ query: `WorkflowId = '${runId}'` })) seen.push(execution.status.name);
      return seen.length === Math.ceil(active.length / 2) ? seen : undefined;
    }, 'every execution in visibility');
    expect(executions.filter((status) => status === 'CONTINUED_AS_NEW')).toHaveLength(executions.length - 1);
    const references = stack.simulators.screening.checks().map((c) => c.reference).filter((r) => r.startsWith(`${runId}:`));
    expect(references.sort()).toEqual(active.map((v) => `${runId}:${v.vendorId}`).sort());
    expect(await stack.db.auditEntry.count({ where: { runId, action: 'run.completed' } })).toBe(1);
  });
});
