import { runHealth } from '../lib/run-health.js';
import type { ApiContext } from './context.js';

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
