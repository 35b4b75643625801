import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../api/pages/charts.js';
import { insertAuditEntry } from '../../lib/outbound-webhooks.js';
import { approvalRequestId, type DecisionChannel } from '../../processes/approval-messages.js';
import { ConsoleClient, tableRows } from '../support/console-client.js';
import { getJson } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A Monday, so ISO weeks are easy to predict. */
const T0 = Date.parse('2026-06-01T00:00:00Z');

/** PostgreSQL's percentile_cont: linear interpolation between the closest ranks. Written here from its definition. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

interface SeedRun {
  id: string;
  process?: string;
  status: string;
  startedAt: number;
  closedAt?: number;
  /** A decided request says the channel its audit entry records. */
  approvals?: Array<{ step: string; approver: string; createdAt: number; decidedAt?: number; channel?: DecisionChannel; round?: number; revokedReason?: string }>;
  /** Nobody decided in time and the policy's deadline action did, on this day: it closed every request of the run's step. */
  decidedByPolicyAt?: number;
  reminders?: number[];
  escalations?: number[];
  /** An incident run's read model: acknowledged and resolved this long after it opened (its start), if at all. */
  incident?: { severity: string; acknowledgeWithin: number; acknowledgedAfter?: number; escalationLevel?: number; resolvedAfter?: number };
}

describe('KPIs computed from the read model and audit log', () => {
  let stack: Stack;
  const runs: SeedRun[] = [];

  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
    // Ten completed capex runs over two weeks, cycle times 2h, 4h, ... 20h; each approved by Morgan after (i+1) hours,
    // through each channel in turn.
    const channels: DecisionChannel[] = ['slack', 'link', 'inbox', 'email-reply', 'api'];
    for (let i = 0; i < 10; i++) {
      const startedAt = T0 + i * DAY + HOUR;
      runs.push({
        id: `capex-done-${i}`, status: 'completed', startedAt, closedAt: startedAt + (i + 1) * 2 * HOUR,
        approvals: [{ step: 'line-manager', approver: 'morgan.lee@example.com', createdAt: startedAt, decidedAt: startedAt + (i + 1) * HOUR, channel: channels[i % channels.length] }],
        reminders: i % 3 === 0 ? [startedAt + 30 * 60_000] : [],
      });
    }
    // Slow finance director: three decided in 10h, 30h and 50h; one breach escalated, one breach expired.
    runs.push({ id: 'capex-rej-1', status: 'rejected', startedAt: T0 + 2 * DAY, closedAt: T0 + 3 * DAY,
      approvals: [{ step: 'finance-director', approver: 'priya.shah@example.com', createdAt: T0 + 2 * DAY, decidedAt: T0 + 2 * DAY + 10 * HOUR, channel: 'link' }] });
    runs.push({ id: 'capex-rej-2', status: 'rejected', startedAt: T0 + 3 * DAY, closedAt: T0 + 5 * DAY,
      approvals: [{ step: 'finance-director', approver: 'priya.shah@example.com', createdAt: T0 + 3 * DAY, decidedAt: T0 + 3 * DAY + 30 * HOUR, channel: 'api' }] });
    runs.push({ id: 'capex-esc', status: 'completed', startedAt: T0 + 4 * DAY, closedAt: T0 + 8 * DAY,
      approvals: [
        { step: 'finance-director', approver: 'priya.shah@example.com', createdAt: T0 + 4 * DAY, revokedReason: 'the request was escalated to Sam Okafor' },
        { step: 'finance-director', approver: 'sam.okafor@example.com', createdAt: T0 + 7 * DAY, decidedAt: T0 + 7 * DAY + 50 * HOUR, channel: 'slack', round: 2 },
      ],
      escalations: [T0 + 7 * DAY] });
    runs.push({ id: 'capex-exp', status: 'expired', startedAt: T0 + 5 * DAY, closedAt: T0 + 8 * DAY,
      approvals: [{ step: 'finance-director', approver: 'priya.shah@example.com', createdAt: T0 + 5 * DAY, revokedReason: 'the request expired' }] });
    // Still waiting: the bottleneck list, oldest first.
    runs.push({ id: 'capex-open-old', status: 'running', startedAt: T0 + 6 * DAY,
      approvals: [{ step: 'cfo', approver: 'sam.okafor@example.com', createdAt: T0 + 6 * DAY }] });
    runs.push({ id: 'capex-open-new', status: 'running', startedAt: T0 + 9 * DAY,
      approvals: [{ step: 'line-manager', approver: 'morgan.lee@example.com', createdAt: T0 + 9 * DAY }] });
    // Two COO seats nobody decided: the policy approved at the deadline, 48h after the first was asked. One decision.
    runs.push({ id: 'capex-policy', status: 'completed', startedAt: T0 + 8 * DAY, closedAt: T0 + 10 * DAY + HOUR,
      approvals: [
        { step: 'coo', approver: 'dana.whitfield@example.com', createdAt: T0 + 8 * DAY, revokedReason: 'the step was approved by policy at the deadline' },
        { step: 'coo', approver: 'omar.haddad@example.com', createdAt: T0 + 8 * DAY + HOUR, revokedReason: 'the step was approved by policy at the deadline' },
      ],
      decidedByPolicyAt: T0 + 10 * DAY });
    // Incidents: in time, late after two escalations, never acknowledged and still paging; a SEV2 cancelled before its
    // acknowledgement time ran out (no breach) and one cancelled after it (a breach); one outside the window.
    const MINUTE = 60_000;
    const incident = (id: string, startedAt: number, status: string, closedAt: number | undefined, details: NonNullable<SeedRun['incident']>): SeedRun => ({ id, process: 'incident', status, startedAt, closedAt, incident: details });
    runs.push(
      incident('incident-in-time', T0 + DAY, 'completed', T0 + 2 * DAY, { severity: 'sev1', acknowledgeWithin: 15 * MINUTE, acknowledgedAfter: 10 * MINUTE, resolvedAfter: 2 * HOUR }),
      incident('incident-late', T0 + 2 * DAY, 'completed', T0 + 3 * DAY, { severity: 'sev1', acknowledgeWithin: 15 * MINUTE, acknowledgedAfter: 40 * MINUTE, escalationLevel: 2, resolvedAfter: 5 * HOUR }),
      incident('incident-paging', T0 + 3 * DAY, 'running', undefined, { severity: 'sev1', acknowledgeWithin: 15 * MINUTE, escalationLevel: 3 }),
      incident('incident-called-off', T0 + 4 * DAY, 'cancelled', T0 + 4 * DAY + 20 * MINUTE, { severity: 'sev2', acknowledgeWithin: 30 * MINUTE }),
      incident('incident-called-off-late', T0 + 5 * DAY, 'cancelled', T0 + 5 * DAY + HOUR, { severity: 'sev2', acknowledgeWithin: 30 * MINUTE, escalationLevel: 1 }),
      incident('incident-old', T0 - 30 * DAY, 'completed', T0 - 29 * DAY, { severity: 'sev1', acknowledgeWithin: 15 * MINUTE, acknowledgedAfter: 90 * MINUTE, resolvedAfter: HOUR }),
    );
    // Another process and a run outside the window: both must stay out of the capex figures.
    runs.push({ id: 'contract-1', process: 'contract', status: 'completed', startedAt: T0 + DAY, closedAt: T0 + DAY + 100 * HOUR,
      approvals: [{ step: 'legal', approver: 'casey.nguyen@example.com', createdAt: T0 + DAY, decidedAt: T0 + DAY + 4 * HOUR, channel: 'inbox' }] });
    runs.push({ id: 'capex-old', status: 'completed', startedAt: T0 - 30 * DAY, closedAt: T0 - 29 * DAY,
      approvals: [{ step: 'line-manager', approver: 'morgan.lee@example.com', createdAt: T0 - 30 * DAY, decidedAt: T0 - 30 * DAY + HOUR, channel: 'link' }] });

    for (const run of runs) {
      await stack.db.run.create({
        data: {
          id: run.id, process: run.process ?? 'capex', status: run.status, title: run.id, requesterName: 'Alex Rivera',
          requesterEmail: 'alex.rivera@example.com', input: {}, settings: {}, startedAt: new Date(run.startedAt),
          closedAt: run.closedAt ? new Date(run.closedAt) : null,
        },
      });
      for (const [index, a] of (run.approvals ?? []).entries()) {
        // Ids as the workflow makes them: a decision by policy names the step attempt whose requests it closed.
        const id = approvalRequestId(run.id, a.step, { attempt: 1, seat: index, round: a.round ?? 1 });
        await stack.db.approvalRequest.create({
          data: {
            id, runId: run.id, stepId: a.step, stepTitle: a.step, round: a.round ?? 1,
            approverEmail: a.approver, approverName: a.approver, approverRole: 'test', tokenHash: `${run.id}:${index}`,
            createdAt: new Date(a.createdAt), expiresAt: new Date(a.createdAt + 3 * DAY),
            usedAt: a.decidedAt ? new Date(a.decidedAt) : null, decision: a.decidedAt ? 'approved' : null,
            revokedAt: a.revokedReason ? new Date(run.decidedByPolicyAt ?? a.createdAt + 3 * DAY) : null, revokedReason: a.revokedReason ?? null,
          },
        });
        if (a.decidedAt) {
          await stack.db.$transaction((tx) =>
            insertAuditEntry(tx, { runId: run.id, action: 'approval.decided', actor: a.approver, step: a.step, at: new Date(a.decidedAt!), details: { requestId: id, decision: 'approved', channel: a.channel } }),
          );
        }
      }
      if (run.decidedByPolicyAt) {
        const step = run.approvals![0]!.step;
        await stack.db.$transaction((tx) =>
          insertAuditEntry(tx, {
            runId: run.id, action: 'approval.decided', actor: 'policy', step, at: new Date(run.decidedByPolicyAt!),
            details: { requestId: `${run.id}:${step}:a1:policy`, decision: 'approved', channel: 'policy', byPolicy: { trigger: 'deadline', policyVersion: 1 } },
          }),
        );
      }
      if (run.incident) {
        const { severity, acknowledgeWithin, acknowledgedAfter, escalationLevel, resolvedAfter } = run.incident;
        const after = (ms: number | undefined) => (ms === undefined ? null : new Date(run.startedAt + ms));
        await stack.db.incident.create({
          data: {
            runId: run.id, area: 'supply', severity, openedAt: new Date(run.startedAt), acknowledgeBy: new Date(run.startedAt + acknowledgeWithin),
            acknowledgedAt: after(acknowledgedAfter), acknowledgedBy: acknowledgedAfter === undefined ? null : 'zoe.adams@example.com',
            escalationLevel: escalationLevel ?? 0, resolvedAt: after(resolvedAfter),
          },
        });
      }
      for (const [action, times] of [['approval.reminded', run.reminders ?? []], ['approval.escalated', run.escalations ?? []]] as const) {
        for (const at of times) await stack.db.$transaction((tx) => insertAuditEntry(tx, { runId: run.id, action, actor: 'opsflow', at: new Date(at) }));
      }
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const window = `from=${new Date(T0).toISOString()}&to=${new Date(T0 + 14 * DAY).toISOString()}`;

  it('counts runs, cycle time percentiles and weekly throughput', async () => {
    const { status, body } = await getJson(`${stack.apiUrl}/kpis?process=capex&${window}`);
    expect(status).toBe(200);
    const inWindow = runs.filter((r) => (r.process ?? 'capex') === 'capex' && r.startedAt >= T0);
    expect(body.runs).toEqual({
      started: inWindow.length,
      running: inWindow.filter((r) => r.status === 'running').length,
      completed: inWindow.filter((r) => r.status === 'completed').length,
      rejected: 2, expired: 1, failed: 0, cancelled: 0,
    });
    const cycles = inWindow.filter((r) => r.status === 'completed').map((r) => (r.closedAt! - r.startedAt) / 1000);
    expect(body.cycleTime.count).toBe(cycles.length);
    expect(body.cycleTime.p50).toBeCloseTo(percentile(cycles, 0.5), 3);
    expect(body.cycleTime.p90).toBeCloseTo(percentile(cycles, 0.9), 3);

    const week2 = T0 + 7 * DAY;
    const startedIn = (from: number, to: number) => inWindow.filter((r) => r.startedAt >= from && r.startedAt < to).length;
    const completedIn = (from: number, to: number) => inWindow.filter((r) => r.status === 'completed' && r.closedAt! >= from && r.closedAt! < to).length;
    expect(body.weeklyThroughput).toEqual([
      { weekStart: '2026-06-01', started: startedIn(T0, week2), completed: completedIn(T0, week2) },
      { weekStart: '2026-06-08', started: startedIn(week2, week2 + 7 * DAY), completed: completedIn(week2, week2 + 7 * DAY) },
    ]);
    expect(body.cycleTimeByWeek.map((w: { count: number }) => w.count)).toEqual([completedIn(T0, week2), completedIn(week2, week2 + 7 * DAY)]);
  });

  it('gives time per step and per approver, SLA breach rates, nudges and the bottleneck list', async () => {
    const { body } = await getJson(`${stack.apiUrl}/kpis?process=capex&${window}`);
    const finance = body.steps.find((s: { step: string }) => s.step === 'finance-director');
    const financeTimes = [10, 30, 50].map((h) => h * 3600);
    expect(finance).toMatchObject({ decided: 3, requests: 4, breaches: 2, breachRate: 0.5, open: 0 });
    expect(finance.p50).toBeCloseTo(percentile(financeTimes, 0.5), 3);
    expect(finance.p90).toBeCloseTo(percentile(financeTimes, 0.9), 3);
    const manager = body.steps.find((s: { step: string }) => s.step === 'line-manager');
    const managerTimes = Array.from({ length: 10 }, (_, i) => (i + 1) * 3600);
    expect(manager).toMatchObject({ decided: 10, requests: 11, breaches: 0, breachRate: 0, open: 1 });
    expect(manager.p90).toBeCloseTo(percentile(managerTimes, 0.9), 3);

    const priya = body.approvers.find((a: { email: string }) => a.email === 'priya.shah@example.com');
    expect(priya).toMatchObject({ decided: 2, open: 0 });
    expect(priya.p50).toBeCloseTo(percentile([10 * 3600, 30 * 3600], 0.5), 3);
    expect(body.approvers[0].email).toBe('sam.okafor@example.com'); // slowest p90 first

    expect(body.reminders).toBe(4);
    expect(body.escalations).toBe(1);
    expect(body.oldestOpen.map((o: { runId: string }) => o.runId)).toEqual(['capex-open-old', 'capex-open-new']);
    expect(body.oldestOpen[0]).toMatchObject({ step: 'cfo', approverEmail: 'sam.okafor@example.com' });
    expect(body.oldestOpen[0].waitingSeconds).toBeGreaterThan(body.oldestOpen[1].waitingSeconds);
  });

  it('counts decisions per channel with the median time to decide (a deadline decision by policy once per step), in the JSON and on the dashboard', async () => {
    const capexInWindow = runs.filter((r) => (r.process ?? 'capex') === 'capex' && r.startedAt >= T0);
    const secondsByChannel = new Map<string, number[]>();
    const add = (channel: string, seconds: number) => secondsByChannel.set(channel, [...(secondsByChannel.get(channel) ?? []), seconds]);
    for (const run of capexInWindow) {
      for (const a of run.approvals ?? []) if (a.decidedAt) add(a.channel!, (a.decidedAt - a.createdAt) / 1000);
      if (run.decidedByPolicyAt) add('policy', (run.decidedByPolicyAt - Math.min(...run.approvals!.map((a) => a.createdAt))) / 1000);
    }
    const expected = [...secondsByChannel]
      .map(([channel, seconds]) => ({ channel, decided: seconds.length, p50: percentile(seconds, 0.5) }))
      .sort((a, b) => b.decided - a.decided || (a.channel < b.channel ? -1 : 1));
    expect(expected.map((c) => c.channel)).toEqual(['api', 'link', 'slack', 'email-reply', 'inbox', 'policy']);

    const { body } = await getJson(`${stack.apiUrl}/kpis?process=capex&${window}`);
    expect(body.channels.map((c: { channel: string; decided: number }) => [c.channel, c.decided])).toEqual(expected.map((c) => [c.channel, c.decided]));
    for (const [i, c] of expected.entries()) expect(body.channels[i].p50, c.channel).toBeCloseTo(c.p50, 3);

    const labels: Record<string, string> = { api: 'API', link: 'link', slack: 'Slack', 'email-reply': 'e-mail reply', inbox: 'inbox', policy: 'policy at deadline' };
    const browser = new ConsoleClient(stack.apiUrl);
    expect((await browser.signIn(stack.adminKey)).status).toBe(303);
    const page = await browser.get('/ops?process=capex&from=2026-06-01&to=2026-06-14');
    expect(page.status).toBe(200);
    const total = expected.reduce((sum, c) => sum + c.decided, 0);
    expect(tableRows(page.html, 'channels')).toEqual(
      expected.map((c) => ({ Channel: labels[c.channel], Decided: String(c.decided), Share: `${Math.round((c.decided / total) * 100)}%`, 'Time to decide p50': formatDuration(c.p50) })),
    );
  });

  it('reports incidents per severity: time to acknowledge and to resolve, breaches, escalations and the ones still open', async () => {
    const { body } = await getJson(`${stack.apiUrl}/kpis?process=incident&${window}`);
    const inWindow = runs.filter((r) => r.incident && r.startedAt >= T0);
    const expected = ['sev1', 'sev2'].map((severity) => {
      const of = inWindow.filter((r) => r.incident!.severity === severity);
      const seconds = (field: 'acknowledgedAfter' | 'resolvedAfter') => of.flatMap((r) => (r.incident![field] === undefined ? [] : [r.incident![field]! / 1000]));
      const figures = (values: number[]) => ({ p50: values.length ? percentile(values, 0.5) : null, p90: values.length ? percentile(values, 0.9) : null });
      // A breach: acknowledged after its acknowledgement time, or not acknowledged by then (while paging, or before its run closed).
      const breached = (r: SeedRun) => (r.incident!.acknowledgedAfter ?? (r.closedAt ?? Date.now()) - r.startedAt) > r.incident!.acknowledgeWithin;
      return {
        severity,
        opened: of.length,
        acknowledged: seconds('acknowledgedAfter').length,
        timeToAcknowledge: figures(seconds('acknowledgedAfter')),
        breaches: of.filter(breached).length,
        escalated: of.filter((r) => (r.incident!.escalationLevel ?? 0) > 0).length,
        resolved: seconds('resolvedAfter').length,
        timeToResolve: figures(seconds('resolvedAfter')),
        open: of.filter((r) => r.status === 'running' && r.incident!.resolvedAfter === undefined).length,
      };
    });
    expect(expected.map((e) => [e.severity, e.opened, e.breaches, e.escalated, e.open])).toEqual([['sev1', 3, 2, 2, 1], ['sev2', 2, 1, 1, 0]]);
    expect(body.incidents).toEqual(expected);
    // Only incident runs have incidents: capex shows none.
    expect((await getJson(`${stack.apiUrl}/kpis?process=capex&${window}`)).body.incidents).toEqual([]);

    const browser = new ConsoleClient(stack.apiUrl);
    expect((await browser.signIn(stack.adminKey)).status).toBe(303);
    const page = await browser.get('/ops?process=incident&from=2026-06-01&to=2026-06-14');
    expect(tableRows(page.html, 'incidents').map((row) => [row.Severity, row.Breaches, row['Time to acknowledge p50'], row['Time to resolve p50'], row.Open])).toEqual(
      expected.map((e) => [e.severity.toUpperCase(), String(e.breaches), formatDuration(e.timeToAcknowledge.p50), formatDuration(e.timeToResolve.p50), String(e.open)]),
    );
  });

  it('separates processes and validates the query', async () => {
    const contract = await getJson(`${stack.apiUrl}/kpis?process=contract&${window}`);
    expect(contract.body.runs.started).toBe(1);
    expect(contract.body.cycleTime.p50).toBe(100 * 3600);
    expect(contract.body.channels).toEqual([{ channel: 'inbox', decided: 1, p50: 4 * 3600 }]);
    const all = await getJson(`${stack.apiUrl}/kpis?${window}`);
    expect(all.body.runs.started).toBe(runs.filter((r) => r.startedAt >= T0).length);
    expect(all.body.channels.find((c: { channel: string }) => c.channel === 'inbox').decided).toBe(3);
    expect((await getJson(`${stack.apiUrl}/kpis?process=teleport`)).status).toBe(404);
    const bad = await getJson(`${stack.apiUrl}/kpis?from=yesterday`);
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toBe('query.from');
    const inverted = await getJson(`${stack.apiUrl}/kpis?from=2026-06-10&to=2026-06-01`);
    expect(inverted.body.error.details.issues[0].path).toBe('query.from');
  });
});
