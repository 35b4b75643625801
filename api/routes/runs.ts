import { Router } from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { runHealth } from '../../lib/run-health.js';
import { CANCEL_REASON_SIGNAL, type CancelReason } from '../../processes/approval-messages.js';
import type { ApiContext } from '../context.js';
import { parseOr422 } from '../errors.js';
import { authenticate, requireIdentity, requireScope } from '../auth.js';
import { idempotencyKeySchema, startRun, starterFor } from '../run-service.js';
import { runDetail, runSummary } from '../run-views.js';

export const runStatuses = ['running', 'completed', 'rejected', 'expired', 'cancelled', 'failed', 'not_started'] as const;

/** Lists show runs that started; `not_started` ones (the start did not reach Temporal) only when asked for by status. */
export const startedRunsUnless = (status: string | undefined) => ({ status: status ?? { not: 'not_started' } });

export const listRunsQuerySchema = z.object({
  process: z.string().min(1).optional(),
  status: z.enum(runStatuses).optional(),
  health: z.enum(['stuck']).optional().describe('Only runs whose workflow task keeps failing (as of the last health sweep)'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().optional(),
});

export function decodeCursor(cursor: string): { startedAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const startedAt = new Date(at ?? '');
  if (!id || Number.isNaN(startedAt.getTime())) {
    throw new AppError('validation_failed', 'Invalid cursor', { issues: [{ path: 'cursor', message: 'is not a cursor from a previous page' }] });
  }
  return { startedAt, id };
}

export function encodeCursor(run: { startedAt: Date; id: string }): string {
  return Buffer.from(`${run.startedAt.toISOString()}|${run.id}`).toString('base64url');
}

export const cancelBodySchema = z.object({
  reason: z.string({ error: 'required: say why the run is cancelled (the requester and the audit see it)' }).trim().min(3, 'say why the run is cancelled (at least 3 characters)').max(1000),
});

/** Tells the run who cancels it and why (its record and the requester's mail say so), then cancels it. */
export async function cancelRun(ctx: ApiContext, run: { id: string; status: string }, actorEmail: string, reason: string): Promise<void> {
  if (run.status !== 'running') throw new AppError('conflict', `Run ${run.id} is already ${run.status}`, { status: run.status });
  const handle = ctx.temporal.workflow.getHandle(run.id);
  try {
    await handle.signal<[CancelReason]>(CANCEL_REASON_SIGNAL, { actorEmail, reason });
    await handle.cancel();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new AppError('conflict', `Run ${run.id} is no longer running`);
    throw error;
  }
}

export function runsRouter(ctx: ApiContext): Router {
  const router = Router();
  router.use('/runs', authenticate(ctx));

  router.post('/runs', async (req, res) => {
    const rawKey = req.get('idempotency-key');
    const idempotencyKey =
      rawKey === undefined
        ? undefined
        : parseOr422(idempotencyKeySchema, rawKey, ['Idempotency-Key'], 'Idempotency-Key header is invalid');
    const { runId, replayed } = await startRun(ctx, req.body, idempotencyKey, starterFor(ctx, requireIdentity(req)));
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(replayed ? 200 : 201).location(`/runs/${runId}`).json({ runId, status: 'running', links: { self: `/runs/${runId}` } });
  });

  router.get('/runs', requireScope('runs:read'), async (req, res) => {
    const query = parseOr422(listRunsQuerySchema, req.query, ['query'], 'Query parameters are invalid');
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await ctx.db.run.findMany({
      where: {
        ...(query.process ? { process: query.process } : {}),
        ...startedRunsUnless(query.status),
        ...(query.health === 'stuck' ? { status: 'running', stuckSince: { not: null } } : {}),
        ...(after
          ? { OR: [{ startedAt: { lt: after.startedAt } }, { startedAt: after.startedAt, id: { lt: after.id } }] }
          : {}),
      },
      orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
      take: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    res.json({
      items: page.map(runSummary),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null,
    });
  });

  router.get('/runs/:id', requireScope('runs:read'), async (req, res) => {
    const run = await ctx.db.run.findUnique({
      where: { id: String(req.params.id) },
      include: { approvals: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }, audit: { orderBy: [{ at: 'asc' }, { id: 'asc' }] } },
    });
    if (!run) throw new AppError('not_found', `No run ${String(req.params.id)}`);
    // Asked of Temporal now, not of the last sweep: a stuck run says so the moment it is looked at.
    res.json({ ...runDetail(run), health: run.status === 'running' ? await runHealth(ctx.temporal, run.id) : { status: 'ok' } });
  });

  router.post('/runs/:id/cancel', requireScope('runs:manage'), async (req, res) => {
    const run = await ctx.db.run.findUnique({ where: { id: String(req.params.id) } });
    if (!run) throw new AppError('not_found', `No run ${String(req.params.id)}`);
    const { reason } = parseOr422(cancelBodySchema, req.body ?? {});
    await cancelRun(ctx, run, requireIdentity(req).email, reason);
    res.status(202).json({ runId: run.id, status: 'cancelling', links: { self: `/runs/${run.id}` } });
  });

  return router;
}
