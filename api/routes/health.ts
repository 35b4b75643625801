import { z } from 'zod';
import { defineRoute } from '../route-table.js';
import type { ApiContext } from '../context.js';

async function check(probe: () => Promise<unknown>, timeoutMs = 2000): Promise<{ ok: boolean; error?: string }> {
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** Runs the health sweep found stuck (their workflow task keeps failing): how many, and the first few. */
async function stuckRuns(ctx: ApiContext): Promise<{ count: number; ids: string[] }> {
  const where = { status: 'running', stuckSince: { not: null } };
  const [count, sample] = await Promise.all([
    ctx.db.run.count({ where }),
    ctx.db.run.findMany({ where, select: { id: true }, orderBy: { stuckSince: 'asc' }, take: 10 }),
  ]);
  return { count, ids: sample.map((r) => r.id) };
}

const checkSchema = z.object({ ok: z.boolean(), error: z.string().optional() });
const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  checks: z.object({
    database: checkSchema,
    temporal: checkSchema,
    runs: z.object({ ok: z.boolean(), stuck: z.number().int().optional(), stuckRunIds: z.array(z.string()).optional(), error: z.string().optional() }),
  }),
});

export const healthRoutes = [
  defineRoute({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tag: 'Operations',
    summary: 'Liveness and dependency checks',
    auth: 'none',
    responses: {
      200: { description: 'Reachable (status "degraded" while runs are stuck)', schema: healthSchema },
      503: { description: 'The database or Temporal does not answer', schema: healthSchema },
    },
    async handler(ctx, { res }) {
      const [database, temporal] = await Promise.all([
        check(() => ctx.db.$queryRaw`SELECT 1`),
        check(() => ctx.temporal.workflowService.getSystemInfo({})),
      ]);
      const stuck = database.ok ? await stuckRuns(ctx) : undefined;
      const runs = stuck ? { ok: stuck.count === 0, stuck: stuck.count, ...(stuck.count ? { stuckRunIds: stuck.ids } : {}) } : { ok: false, error: 'database unavailable' };
      // Stuck runs degrade the service but do not make this API instance unfit to serve: the status stays 200.
      const reachable = database.ok && temporal.ok;
      res.status(reachable ? 200 : 503).json({ status: reachable && runs.ok ? 'ok' : 'degraded', checks: { database, temporal, runs } });
    },
  }),
];
