import type { Db } from '../lib/db.js';
import { Prisma } from '../lib/db.js';
import type { Kpis } from './kpi-types.js';
import { isRecordedChannel } from './run-views.js';

export interface KpiQuery {
  process?: string;
  from: Date;
  to: Date;
}

/** Requests that passed their SLA: expired, or handed to someone else by escalation. */
const BREACHED = Prisma.sql`(a."revokedReason" = 'the request expired' OR a."revokedReason" LIKE 'the request was escalated%')`;

const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));
const maybe = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const day = (value: Date): string => value.toISOString().slice(0, 10);

/**
 * Every figure an operations office steers by, computed in SQL from the run read model, approval requests and the
 * audit log. Percentiles are PostgreSQL's percentile_cont (linear interpolation). Cycle time counts completed runs;
 * decision time is request to decision per approval request.
 */
export async function computeKpis(db: Db, query: KpiQuery): Promise<Kpis> {
  const { from, to } = query;
  const process = query.process ?? null;
  // A run whose start never reached Temporal (not_started) is no run: it counts nowhere.
  const runFilter = (alias: string) =>
    Prisma.sql`(${process}::text IS NULL OR ${Prisma.raw(alias)}.process = ${process}) AND ${Prisma.raw(alias)}.status <> 'not_started'`;

  const [statusRows, cycle, cycleWeeks, steps, approvers, channels, nudges, oldest, throughput, tasks, incidents] = await Promise.all([
    db.$queryRaw<Array<{ status: string; n: number }>>`
      SELECT r.status, count(*)::int AS n FROM "Run" r
      WHERE r."startedAt" >= ${from} AND r."startedAt" < ${to} AND ${runFilter('r')}
      GROUP BY r.status`,
    db.$queryRaw<Array<{ n: number; p50: number | null; p90: number | null }>>`
      SELECT count(*)::int AS n,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r."closedAt" - r."startedAt")) AS p50,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r."closedAt" - r."startedAt")) AS p90
      FROM "Run" r
      WHERE r.status = 'completed' AND r."closedAt" >= ${from} AND r."closedAt" < ${to} AND ${runFilter('r')}`,
    db.$queryRaw<Array<{ week: Date; n: number; p50: number | null }>>`
      SELECT date_trunc('week', r."closedAt") AS week, count(*)::int AS n,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r."closedAt" - r."startedAt")) AS p50
      FROM "Run" r
      WHERE r.status = 'completed' AND r."closedAt" >= ${from} AND r."closedAt" < ${to} AND ${runFilter('r')}
      GROUP BY 1 ORDER BY 1`,
    db.$queryRaw<Array<{ step: string; decided: number; p50: number | null; p90: number | null; open: number; requests: number; breaches: number }>>`
      SELECT a."stepId" AS step,
        count(*) FILTER (WHERE a."usedAt" IS NOT NULL)::int AS decided,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a."usedAt" - a."createdAt")) FILTER (WHERE a."usedAt" IS NOT NULL) AS p50,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM a."usedAt" - a."createdAt")) FILTER (WHERE a."usedAt" IS NOT NULL) AS p90,
        count(*) FILTER (WHERE a."usedAt" IS NULL AND a."revokedAt" IS NULL AND r.status = 'running')::int AS open,
        count(*) FILTER (WHERE a.round = 1)::int AS requests,
        count(*) FILTER (WHERE a.round = 1 AND ${BREACHED})::int AS breaches
      FROM "ApprovalRequest" a JOIN "Run" r ON r.id = a."runId"
      WHERE a.kind = 'decision' AND a."createdAt" >= ${from} AND a."createdAt" < ${to} AND ${runFilter('r')}
      GROUP BY a."stepId" ORDER BY a."stepId"`,
    db.$queryRaw<Array<{ email: string; name: string; decided: number; p50: number | null; p90: number | null; open: number }>>`
      SELECT a."approverEmail" AS email, min(a."approverName") AS name,
        count(*) FILTER (WHERE a."usedAt" IS NOT NULL)::int AS decided,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a."usedAt" - a."createdAt")) FILTER (WHERE a."usedAt" IS NOT NULL) AS p50,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM a."usedAt" - a."createdAt")) FILTER (WHERE a."usedAt" IS NOT NULL) AS p90,
        count(*) FILTER (WHERE a."usedAt" IS NULL AND a."revokedAt" IS NULL AND r.status = 'running')::int AS open
      FROM "ApprovalRequest" a JOIN "Run" r ON r.id = a."runId"
      WHERE a.kind = 'decision' AND a."createdAt" >= ${from} AND a."createdAt" < ${to} AND ${runFilter('r')}
      GROUP BY a."approverEmail" ORDER BY p90 DESC NULLS LAST, a."approverEmail"`,
    // The channel is the decision's evidence: its audit entry. A person decides one request; the policy's deadline
    // action decides a step attempt, whose requests it closed share the prefix of its id (`<run>:<step>:a<n>:`).
    db.$queryRaw<Array<{ channel: string; decided: number; p50: number | null }>>`
      WITH asked AS (
        SELECT a.id, a."runId", a."createdAt", a."usedAt", a."revokedReason"
        FROM "ApprovalRequest" a JOIN "Run" r ON r.id = a."runId"
        WHERE a.kind = 'decision' AND a."createdAt" >= ${from} AND a."createdAt" < ${to} AND ${runFilter('r')}
      ), decisions AS (
        SELECT e."runId", e.at, e.details->>'requestId' AS "requestId", e.details->>'channel' AS channel
        FROM "AuditEntry" e
        WHERE e.action = 'approval.decided' AND e."runId" IN (SELECT "runId" FROM asked)
      ), timed AS (
        SELECT d.channel, extract(epoch FROM q."usedAt" - q."createdAt") AS seconds
        FROM decisions d JOIN asked q ON q.id = d."requestId"
        WHERE q."usedAt" IS NOT NULL
        UNION ALL
        SELECT 'policy', extract(epoch FROM d.at - min(q."createdAt"))
        FROM decisions d JOIN asked q ON q."runId" = d."runId"
          AND starts_with(q.id, left(d."requestId", -length(':policy')) || ':')
          AND q."revokedReason" LIKE '% by policy at the deadline'
        WHERE d.channel = 'policy'
        GROUP BY d."runId", d."requestId", d.at
      )
      SELECT channel, count(*)::int AS decided, percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50
      FROM timed GROUP BY channel ORDER BY decided DESC, channel`,
    db.$queryRaw<Array<{ reminders: number; escalations: number }>>`
      SELECT count(*) FILTER (WHERE e.action = 'approval.reminded')::int AS reminders,
             count(*) FILTER (WHERE e.action = 'approval.escalated')::int AS escalations
      FROM "AuditEntry" e JOIN "Run" r ON r.id = e."runId"
      WHERE e.at >= ${from} AND e.at < ${to} AND ${runFilter('r')}`,
    db.$queryRaw<Array<{ requestId: string; runId: string; runTitle: string; process: string; step: string; stepTitle: string; approverEmail: string; approverName: string; createdAt: Date; expiresAt: Date }>>`
      SELECT a.id AS "requestId", r.id AS "runId", r.title AS "runTitle", r.process, a."stepId" AS step, a."stepTitle",
             a."approverEmail", a."approverName", a."createdAt", a."expiresAt"
      FROM "ApprovalRequest" a JOIN "Run" r ON r.id = a."runId"
      WHERE a.kind = 'decision' AND a."usedAt" IS NULL AND a."revokedAt" IS NULL AND r.status = 'running' AND ${runFilter('r')}
      ORDER BY a."createdAt" ASC, a.id LIMIT 10`,
    db.$queryRaw<Array<{ week: Date; started: number; completed: number }>>`
      WITH weeks AS (
        SELECT generate_series(date_trunc('week', ${from}::timestamp), date_trunc('week', ${to}::timestamp - interval '1 microsecond'), interval '1 week') AS week
      )
      SELECT w.week,
        (SELECT count(*)::int FROM "Run" r WHERE date_trunc('week', r."startedAt") = w.week
           AND r."startedAt" >= ${from} AND r."startedAt" < ${to} AND ${runFilter('r')}) AS started,
        (SELECT count(*)::int FROM "Run" r WHERE r.status = 'completed' AND date_trunc('week', r."closedAt") = w.week
           AND r."closedAt" >= ${from} AND r."closedAt" < ${to} AND ${runFilter('r')}) AS completed
      FROM weeks w ORDER BY w.week`,
    taskFigures(db, from, to, runFilter('r')),
    incidentFigures(db, from, to, runFilter('r')),
  ]);

  const count = (status: string) => num(statusRows.find((row) => row.status === status)?.n);
  const now = Date.now();
  return {
    window: { from: from.toISOString(), to: to.toISOString() },
    process,
    runs: {
      started: statusRows.reduce((sum, row) => sum + num(row.n), 0),
      running: count('running'),
      completed: count('completed'),
      rejected: count('rejected'),
      expired: count('expired'),
      failed: count('failed'),
      cancelled: count('cancelled'),
    },
    cycleTime: { count: num(cycle[0]?.n), p50: maybe(cycle[0]?.p50), p90: maybe(cycle[0]?.p90) },
    cycleTimeByWeek: cycleWeeks.map((w) => ({ weekStart: day(w.week), count: num(w.n), p50: maybe(w.p50) })),
    steps: steps.map((s) => ({
      step: s.step,
      decided: num(s.decided),
      p50: maybe(s.p50),
      p90: maybe(s.p90),
      open: num(s.open),
      requests: num(s.requests),
      breaches: num(s.breaches),
      breachRate: num(s.requests) ? num(s.breaches) / num(s.requests) : 0,
    })),
    approvers: approvers.map((a) => ({ email: a.email, name: a.name, decided: num(a.decided), p50: maybe(a.p50), p90: maybe(a.p90), open: num(a.open) })),
    channels: channels.flatMap(({ channel, decided, p50 }) => (isRecordedChannel(channel) ? [{ channel, decided: num(decided), p50: maybe(p50) }] : [])),
    reminders: num(nudges[0]?.reminders),
    escalations: num(nudges[0]?.escalations),
    oldestOpen: oldest.map((o) => ({
      requestId: o.requestId,
      runId: o.runId,
      runTitle: o.runTitle,
      process: o.process,
      step: o.step,
      stepTitle: o.stepTitle,
      approverEmail: o.approverEmail,
      approverName: o.approverName,
      waitingSeconds: Math.round((now - o.createdAt.getTime()) / 1000),
      expiresAt: o.expiresAt.toISOString(),
    })),
    weeklyThroughput: throughput.map((t) => ({ weekStart: day(t.week), started: num(t.started), completed: num(t.completed) })),
    tasks,
    incidents,
  };
}

/** Per candidate group: time to claim and time to complete (percentiles in seconds), open and escalated tasks. */
async function taskFigures(db: Db, from: Date, to: Date, runFilter: Prisma.Sql): Promise<Kpis['tasks']> {
  const rows = await db.$queryRaw<
    Array<{ group: string; opened: number; claimed: number; claimP50: number | null; claimP90: number | null; completed: number; completeP50: number | null; completeP90: number | null; open: number; escalated: number }>
  >`
    SELECT coalesce(t."candidateGroup", '(assigned)') AS "group",
      count(*)::int AS opened,
      count(*) FILTER (WHERE t."firstClaimedAt" IS NOT NULL)::int AS claimed,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t."firstClaimedAt" - t."createdAt")) FILTER (WHERE t."firstClaimedAt" IS NOT NULL) AS "claimP50",
      percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t."firstClaimedAt" - t."createdAt")) FILTER (WHERE t."firstClaimedAt" IS NOT NULL) AS "claimP90",
      count(*) FILTER (WHERE t.status = 'completed')::int AS completed,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t."completedAt" - t."createdAt")) FILTER (WHERE t.status = 'completed') AS "completeP50",
      percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM t."completedAt" - t."createdAt")) FILTER (WHERE t.status = 'completed') AS "completeP90",
      count(*) FILTER (WHERE t.status IN ('open', 'claimed', 'assigned') AND r.status = 'running')::int AS open,
      count(*) FILTER (WHERE t."escalatedAt" IS NOT NULL)::int AS escalated
    FROM "Task" t JOIN "Run" r ON r.id = t."runId"
    WHERE t."createdAt" >= ${from} AND t."createdAt" < ${to} AND ${runFilter}
    GROUP BY 1 ORDER BY 1`;
  return rows.map((row) => ({
    group: row.group,
    opened: num(row.opened),
    claimed: num(row.claimed),
    timeToClaim: { p50: maybe(row.claimP50), p90: maybe(row.claimP90) },
    completed: num(row.completed),
    timeToComplete: { p50: maybe(row.completeP50), p90: maybe(row.completeP90) },
    open: num(row.open),
    escalated: num(row.escalated),
  }));
}

/**
 * Per severity: time to acknowledge and time to resolve (percentiles in seconds from when each incident opened),
 * breaches (acknowledged after its acknowledgeBy; or not acknowledged and past it, until now or until its run closed),
 * escalated pages and the incidents still open.
 */
async function incidentFigures(db: Db, from: Date, to: Date, runFilter: Prisma.Sql): Promise<Kpis['incidents']> {
  const rows = await db.$queryRaw<
    Array<{ severity: string; opened: number; acknowledged: number; ackP50: number | null; ackP90: number | null; breaches: number; escalated: number; resolved: number; resolveP50: number | null; resolveP90: number | null; open: number }>
  >`
    SELECT i.severity,
      count(*)::int AS opened,
      count(*) FILTER (WHERE i."acknowledgedAt" IS NOT NULL)::int AS acknowledged,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i."acknowledgedAt" - i."openedAt")) FILTER (WHERE i."acknowledgedAt" IS NOT NULL) AS "ackP50",
      percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM i."acknowledgedAt" - i."openedAt")) FILTER (WHERE i."acknowledgedAt" IS NOT NULL) AS "ackP90",
      count(*) FILTER (WHERE coalesce(i."acknowledgedAt", r."closedAt", now()) > i."acknowledgeBy")::int AS breaches,
      count(*) FILTER (WHERE i."escalationLevel" > 0)::int AS escalated,
      count(*) FILTER (WHERE i."resolvedAt" IS NOT NULL)::int AS resolved,
      percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM i."resolvedAt" - i."openedAt")) FILTER (WHERE i."resolvedAt" IS NOT NULL) AS "resolveP50",
      percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM i."resolvedAt" - i."openedAt")) FILTER (WHERE i."resolvedAt" IS NOT NULL) AS "resolveP90",
      count(*) FILTER (WHERE i."resolvedAt" IS NULL AND r.status = 'running')::int AS open
    FROM "Incident" i JOIN "Run" r ON r.id = i."runId"
    WHERE i."openedAt" >= ${from} AND i."openedAt" < ${to} AND ${runFilter}
    GROUP BY i.severity ORDER BY i.severity`;
  return rows.map(({ severity, ackP50, ackP90, resolveP50, resolveP90, ...counts }) => ({
    severity,
    ...(Object.fromEntries(Object.entries(counts).map(([name, value]) => [name, num(value)])) as typeof counts),
    timeToAcknowledge: { p50: maybe(ackP50), p90: maybe(ackP90) },
    timeToResolve: { p50: maybe(resolveP50), p90: maybe(resolveP90) },
  }));
}
