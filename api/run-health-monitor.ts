import { WorkflowNotFoundError } from '@temporalio/client';
import { runHealth } from '../lib/run-health.js';
import type { ApiContext } from './context.js';
import { markStarted, NOT_STARTED } from './run-service.js';

/** How old a not_started run must be before the sweep asks Temporal about it (its own start may still be under way). */
const UNCONFIRMED_START_GRACE_MS = 60_000;

/**
 * A start whose answer was lost (Temporal took it, then the connection or the API died) left its run not_started
 * although the workflow runs: the sweep finds the workflow and marks the run running. A run whose workflow Temporal
 * does not know stays not_started, out of lists and KPIs, until its client retries with the same Idempotency-Key.
 */
export async function confirmUnconfirmedStarts(ctx: Pick<ApiContext, 'db' | 'temporal'>, now = Date.now()): Promise<number> {
  const unconfirmed = await ctx.db.run.findMany({
    where: { status: NOT_STARTED, startedAt: { lt: new Date(now - UNCONFIRMED_START_GRACE_MS) } },
    select: { id: true },
    take: BATCH,
  });
  let confirmed = 0;
  for (const run of unconfirmed) {
    try {
      await ctx.temporal.workflow.getHandle(run.id).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) continue;
      throw error;
    }
    await markStarted(ctx.db, run.id);
    confirmed++;
  }
  return confirmed;
}

const BATCH = 200;
const IN_PARALLEL = 8;

/**
 * Looks at every running run's workflow and records which are stuck (their workflow task keeps failing) on the
 * run itself, so lists, the explorer, /healthz and the `opsflow_runs_stuck` gauge show them; a run that recovers
 * is cleared. One describe call per running run per sweep: fine for thousands of open runs, not for millions.
 */
export async function sweepRunHealth(ctx: Pick<ApiContext, 'db' | 'temporal' | 'logger' | 'metrics'>): Promise<{ checked: number; stuck: number }> {
  let checked = 0;
  for (let after: string | undefined; ; ) {
    const runs = await ctx.db.run.findMany({
      where: { status: 'running', ...(after ? { id: { gt: after } } : {}) },
      select: { id: true, stuckSince: true },
      orderBy: { id: 'asc' },
      take: BATCH,
    });
    for (let i = 0; i < runs.length; i += IN_PARALLEL) {
      await Promise.all(
        runs.slice(i, i + IN_PARALLEL).map(async (run) => {
          const health = await runHealth(ctx.temporal, run.id);
          if (health.status === 'stuck' && !run.stuckSince) {
            ctx.logger.error({ runId: run.id, reason: health.reason, attempts: health.attempts }, 'run is stuck: its workflow task keeps failing');
            await ctx.db.run.update({ where: { id: run.id }, data: { stuckSince: health.since ? new Date(health.since) : new Date(), stuckReason: health.reason.slice(0, 2000) } });
          } else if (health.status === 'ok' && run.stuckSince) {
            ctx.logger.info({ runId: run.id }, 'run recovered');
            await ctx.db.run.update({ where: { id: run.id }, data: { stuckSince: null, stuckReason: null } });
          }
        }),
      );
    }
    checked += runs.length;
    if (runs.length < BATCH) break;
    after = runs.at(-1)!.id;
  }
  await confirmUnconfirmedStarts(ctx);
  const stuck = await ctx.db.run.count({ where: { status: 'running', stuckSince: { not: null } } });
  ctx.metrics?.runsStuck.set(stuck);
  return { checked, stuck };
}

export function startRunHealthMonitor(ctx: Pick<ApiContext, 'db' | 'temporal' | 'logger' | 'metrics'>, everyMs = 30_000): NodeJS.Timeout {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepRunHealth(ctx)
      .catch((error: unknown) => ctx.logger.warn({ err: error }, 'run health sweep failed; next one soon'))
      .finally(() => {
        sweeping = false;
      });
  }, everyMs);
  timer.unref();
  return timer;
}
