import { readFile } from 'node:fs/promises';
import type { CapturedMail } from '../dev/mail-sink.js';
import pg from 'pg';
import { capexApprovers } from './stack.js';
import type { BenchStack } from './stack.js';
import { median } from './report.js';
import {
  approvalMail,
  bareDecide,
  bareStart,
  completeRun,
  completionMail,
  linkPageVersion,
  linkToken,
  opsflowDecideByApi,
  opsflowDecideByLink,
  opsflowDecideByUpdate,
  opsflowDecisionVersion,
  opsflowOpenRequest,
  opsflowStart,
  uniqueTitle,
  untilIdle,
  type SideName,
} from './sides.js';

/** Runs `count` jobs with at most `inFlight` at a time. */
export async function inParallel<T>(count: number, inFlight: number, job: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, inFlight) }, async () => {
      for (let i = next++; i < count; i = next++) results[i] = await job(i);
    }),
  );
  return results;
}

/** Opsflow first in even repetitions, bare first in odd ones: neither side always runs on a warmer machine. */
export function sidesFor(repetition: number): SideName[] {
  return repetition % 2 === 0 ? ['opsflow', 'bare'] : ['bare', 'opsflow'];
}

export interface DecisionFigures {
  /** The API's answer to the approver's POST (Opsflow) / executeUpdate's answer (bare), ms. */
  answer: number[];
  /** From the decision sent to the next approver's mail accepted by the SMTP sink, ms. */
  nextMail: number[];
  /**
   * Opsflow only: the same first decision sent as its Update straight to the run (no HTTP API), on as many runs more,
   * ms. Beside bare's `answer` it is the workflow's share; `answer` less this is what the API adds.
   */
  update: number[];
}

/**
 * A 2-step run waits at its first step, idle (no activity, no task pending: an approver clicks minutes later);
 * the first approver decides — Opsflow through the link page's POST /approvals/:token, bare with executeUpdate —
 * and the second approver's mail is awaited. The second decision ends the run (not timed).
 */
export async function decisionLatency(stack: BenchStack, side: SideName, samples: number): Promise<DecisionFigures> {
  const figures: DecisionFigures = { answer: [], nextMail: [], update: [] };
  const [first, second] = capexApprovers;
  for (let i = 0; i < samples; i++) {
    if (side === 'opsflow') {
      const { answer, nextMail } = await opsflowFirstDecision(stack, async (_runId, mail) => {
        const token = linkToken(mail);
        const version = await linkPageVersion(stack, token);
        return () => opsflowDecideByLink(stack, token, version);
      });
      figures.answer.push(answer);
      figures.nextMail.push(nextMail);
      continue;
    }
    const title = uniqueTitle(side);
    await bareStart(stack, title, 2);
    await approvalMail(stack, title, first);
    await untilIdle(stack, title);
    const sent = Date.now();
    await bareDecide(stack, title, first, 0);
    figures.answer.push(Date.now() - sent);
    const next = await approvalMail(stack, title, second);
    figures.nextMail.push(next.receivedAt.getTime() - sent);
    await bareDecide(stack, title, second, 1);
    await completionMail(stack, side, title);
  }
  for (let i = 0; side === 'opsflow' && i < samples; i++) {
    const { answer } = await opsflowFirstDecision(stack, async (runId) => {
      const open = await opsflowOpenRequest(stack, runId, first);
      return () => opsflowDecideByUpdate(stack, runId, first, open);
    });
    figures.update.push(answer);
  }
  return figures;
}

/**
 * One 2-step Opsflow run: once the first approver's mail is in, `prepare` reads what the decision needs and gives the
 * decision, which is timed once the run is idle; the second approver decides through the API (not timed).
 */
async function opsflowFirstDecision(
  stack: BenchStack,
  prepare: (runId: string, mail: CapturedMail) => Promise<() => Promise<void>>,
): Promise<{ answer: number; nextMail: number }> {
  const [first, second] = capexApprovers;
  const title = uniqueTitle('opsflow');
  const { runId } = await opsflowStart(stack, title, 2);
  if (!runId) throw new Error('POST /runs failed');
  const decide = await prepare(runId, await approvalMail(stack, title, first));
  await untilIdle(stack, runId);
  const sent = Date.now();
  await decide();
  const answer = Date.now() - sent;
  const next = await approvalMail(stack, title, second);
  await untilIdle(stack, runId);
  await opsflowDecideByApi(stack, runId, second, await opsflowDecisionVersion(stack, runId, second));
  await completionMail(stack, 'opsflow', title);
  return { answer, nextMail: next.receivedAt.getTime() - sent };
}

/** 3-step runs completed per second with `inFlight` driven at once, `total` runs in all; the run ids. */
export async function throughput(stack: BenchStack, side: SideName, inFlight: number, total: number): Promise<{ perSecond: number; ids: string[] }> {
  const began = Date.now();
  const ids = await inParallel(total, inFlight, () => completeRun(stack, side, 3));
  return { perSecond: total / ((Date.now() - began) / 1000), ids };
}

/** A run's history: how many events, activities and workflow tasks it took. */
export async function historyCounts(stack: BenchStack, workflowId: string): Promise<{ events: number; activities: number; workflowTasks: number }> {
  const history = await stack.temporal.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  return {
    events: events.length,
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
  };
}

/** Transactions committed in the Opsflow database so far (every process, every connection). */
async function committed(stack: BenchStack): Promise<number> {
  const { rows } = await stack.stats.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [stack.databaseName]);
  return Number(rows[0]!.n);
}

/** Backends publish their counters when idle, at the latest PGSTAT_IDLE_INTERVAL (10 s) later. */
const STATS_FLUSH_MS = 11_000;

/**
 * PostgreSQL's autovacuum commits in the database too (each table it vacuums or analyzes is a transaction), which is
 * not Opsflow's work: it is paused while commits are counted, then restored.
 */
async function withoutAutovacuum<T>(stack: BenchStack, count: () => Promise<T>): Promise<T> {
  await stack.stats.query('ALTER SYSTEM SET autovacuum = off');
  await stack.stats.query('SELECT pg_reload_conf()');
  try {
    return await count();
  } finally {
    await stack.stats.query('ALTER SYSTEM RESET autovacuum');
    await stack.stats.query('SELECT pg_reload_conf()');
  }
}

/**
 * Commits per approved 3-step capex run, once per repetition: pg_stat_database's xact_commit before and after
 * `runs` runs (all at once), less what the same span commits with nothing running (the API's sweeps), with
 * autovacuum paused. `npm run bench:statements` lists one run's transactions.
 */
export function commitsPerRun(stack: BenchStack, runs: number, repetitions: number): Promise<{ perRun: number[]; idlePerSecond: number }> {
  return withoutAutovacuum(stack, () => countCommitsPerRun(stack, runs, repetitions));
}

async function countCommitsPerRun(stack: BenchStack, runs: number, repetitions: number): Promise<{ perRun: number[]; idlePerSecond: number }> {
  await new Promise((resolve) => setTimeout(resolve, STATS_FLUSH_MS));
  const idleFrom = await committed(stack);
  // The idle rate is what the repetitions' counts are corrected by, so it must see every periodic sweep at its rate:
  // the run health sweep comes every 30 s (RUN_HEALTH_SWEEP_MS), which a shorter window catches 0 or 1 times.
  const idleWindowMs = 60_000;
  await new Promise((resolve) => setTimeout(resolve, idleWindowMs + STATS_FLUSH_MS));
  let before = await committed(stack);
  const idlePerSecond = (before - idleFrom) / ((idleWindowMs + STATS_FLUSH_MS) / 1000);
  const perRun: number[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    const began = Date.now();
    await inParallel(runs, runs, () => completeRun(stack, 'opsflow', 3));
    await new Promise((resolve) => setTimeout(resolve, STATS_FLUSH_MS));
    const after = await committed(stack);
    perRun.push((after - before - idlePerSecond * ((Date.now() - began) / 1000)) / runs);
    before = after;
  }
  return { perRun, idlePerSecond };
}

export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/**
 * Worker RSS per open run held in its cache, as the growth from each run more: a freshly started worker opens
 * `warmUp` runs (16 at a time, each until it waits on its first approver, its mail sent), then `runs` more, and the
 * figure is the RSS added by those divided by their number. The first runs also pay for what any worker builds once
 * (code compiled, connection pools, caches), which is not a cost per run; `freshPerRunMb` is the growth from the
 * fresh worker over all the runs, for comparison with earlier figures.
 */
export async function rssPerOpenRun(
  stack: BenchStack,
  side: SideName,
  plan: { warmUp: number; runs: number },
): Promise<{ perRunMb: number; freshPerRunMb: number; ids: string[]; beforeMb: number; warmMb: number; afterMb: number }> {
  const pid = () => stack.workerPid(side);
  const open = async (count: number) => {
    const ids = await inParallel(count, 16, async () => {
      const title = uniqueTitle(side);
      let id = title;
      if (side === 'opsflow') {
        const { runId } = await opsflowStart(stack, title, 3);
        if (!runId) throw new Error('POST /runs failed');
        id = runId;
      } else {
        await bareStart(stack, title, 3);
      }
      await approvalMail(stack, title, capexApprovers[0]);
      return id;
    });
    await Promise.all(ids.slice(-16).map((id) => untilIdle(stack, id)));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    return ids;
  };
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const beforeMb = await rssMb(pid());
  const warm = await open(plan.warmUp);
  const warmMb = await rssMb(pid());
  const measured = await open(plan.runs);
  const afterMb = await rssMb(pid());
  return {
    perRunMb: (afterMb - warmMb) / plan.runs,
    freshPerRunMb: (afterMb - beforeMb) / (plan.warmUp + plan.runs),
    ids: [...warm, ...measured],
    beforeMb,
    warmMb,
    afterMb,
  };
}

/** Ends runs the bench left open, and closes their Opsflow read model so the API's sweeps skip them. */
export async function endOpenRuns(stack: BenchStack, ownerUrl: string, ids: string[]): Promise<void> {
  await inParallel(ids.length, 32, (i) => stack.temporal.workflow.getHandle(ids[i]!).terminate('benchmark done').catch(() => undefined));
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query(`UPDATE "Run" SET status = 'cancelled', "closedAt" = now() WHERE id = ANY($1) AND status = 'running'`, [ids]);
  } finally {
    await client.end();
  }
}

export interface StartFigures {
  perSecond: number;
  serverErrors: number;
  ids: string[];
}

/** `total` starts with `inFlight` at once on a task queue no worker polls: Opsflow's POST /runs vs workflow.start. */
export async function startThroughput(stack: BenchStack, side: SideName, unpolled: { url: string; taskQueue: string }, inFlight: number, total: number): Promise<StartFigures> {
  let serverErrors = 0;
  const began = Date.now();
  const ids = await inParallel(total, inFlight, async () => {
    const title = uniqueTitle(side);
    if (side === 'bare') return bareStart(stack, title, 3, unpolled.taskQueue);
    const { status, runId } = await opsflowStart(stack, title, 3, unpolled.url);
    if (status >= 500) serverErrors++;
    return runId ?? '';
  });
  return { perSecond: total / ((Date.now() - began) / 1000), serverErrors, ids: ids.filter(Boolean) };
}

export { median };
