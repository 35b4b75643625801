import { WorkflowNotFoundError } from '@temporalio/client';
import { PAGE_LINK_KIND } from '../../processes/incident-messages.js';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { runHealth } from '../../lib/run-health.js';
import { CANCEL_REASON_SIGNAL, type CancelReason } from '../../processes/approval-messages.js';
import type { ApiContext } from '../context.js';
import { parseOr422 } from '../errors.js';
import { processes } from '../../processes/index.js';
import { requireIdentity } from '../auth.js';
import { defineRoute } from '../route-table.js';
import { cancelBodyExample, cancellingExample, runDetailExample, runListExample, startedRunExample, startRunBodyExample } from '../examples.js';
import { idempotencyKeySchema, startRun, starterFor } from '../run-service.js';
import { runDetail, runDetailSchema, runStatusSchema, runSummary, runSummarySchema } from '../run-views.js';

export const runStatuses = runStatusSchema.options;

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

const runParams = z.object({ id: z.string().meta({ example: 'capex-5f0c2a9e-3b7d-4e61-9d0a-1f2e3d4c5b6a' }) });
const runLinks = z.object({ self: z.string() });
const startedRunSchema = z.object({ runId: z.string(), status: z.literal('running'), links: runLinks }).meta({ id: 'StartedRun' });

const settingsSchema = z
  .record(z.string(), z.unknown())
  .optional()
  .describe("Overrides of the process's policy for this run (needs runs:configure; same bounds as the policy): see GET /processes/{key}/policy");

/** One start body per registered process, so the docs (and the generated client) show each process's own input. */
function startRunBody(): z.ZodType {
  const variants = processes.map((p) => z.object({ process: z.literal(p.key), input: p.inputSchema, settings: settingsSchema }).describe(p.title));
  return variants.length === 1 ? variants[0]! : z.union(variants as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
}

export const runRoutes = [
  defineRoute({
    method: 'post',
    path: '/runs',
    operationId: 'startRun',
    tag: 'Runs',
    summary: 'Start a run of a process',
    description: 'Validates `input` against the process schema and starts its workflow. Returns at once.',
    accessNote: 'runs:start:<process>',
    request: {
      headers: z.object({ 'Idempotency-Key': idempotencyKeySchema.optional().describe('Same key and body as an earlier request: that run again (200)') }),
      body: startRunBody(),
      bodyValidation: 'handler',
      bodyExample: startRunBodyExample,
    },
    responses: {
      201: { description: 'Run started', schema: startedRunSchema, headers: { Location: 'The run' }, example: startedRunExample },
      200: { description: 'Same Idempotency-Key and body as an earlier request: that run (header Idempotent-Replayed: true)', schema: startedRunSchema, example: startedRunExample },
    },
    errors: { 404: 'Unknown process', 422: 'Invalid input; details.issues names each field path (input.amount, …)' },
    async handler(ctx, { req, res, annotate }) {
      const rawKey = req.get('idempotency-key');
      const idempotencyKey =
        rawKey === undefined
          ? undefined
          : parseOr422(idempotencyKeySchema, rawKey, ['Idempotency-Key'], 'Idempotency-Key header is invalid');
      const { runId, process, replayed } = await startRun(ctx, req.body, idempotencyKey, starterFor(requireIdentity(req)));
      annotate({ runId, process });
      if (replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(replayed ? 200 : 201).location(`/runs/${runId}`).json({ runId, status: 'running', links: { self: `/runs/${runId}` } });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/runs',
    operationId: 'listRuns',
    tag: 'Runs',
    summary: 'List runs, newest first',
    scope: 'runs:read',
    request: { query: listRunsQuerySchema },
    responses: { 200: { description: 'A page of runs and the cursor of the next', schema: z.object({ items: z.array(runSummarySchema), nextCursor: z.string().nullable() }), example: runListExample } },
    async handler(ctx, { query, res }) {
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
    },
  }),

  defineRoute({
    method: 'get',
    path: '/runs/:id',
    operationId: 'getRun',
    tag: 'Runs',
    summary: 'A run: status, current step, facts and version, approvals, timeline and health',
    scope: 'runs:read',
    request: { params: runParams },
    responses: { 200: { description: 'The run', schema: runDetailSchema, example: runDetailExample } },
    errors: { 404: 'No such run' },
    async handler(ctx, { params, res, annotate }) {
      const run = await ctx.db.run.findUnique({
        where: { id: params.id },
        include: { approvals: { where: { kind: { notIn: ['task', PAGE_LINK_KIND] } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }, audit: { orderBy: [{ at: 'asc' }, { id: 'asc' }] } },
      });
      if (!run) throw new AppError('not_found', `No run ${params.id}`);
      annotate({ process: run.process });
      // Asked of Temporal now, not of the last sweep: a stuck run says so the moment it is looked at.
      res.json({ ...runDetail(run), health: run.status === 'running' ? await runHealth(ctx.temporal, run.id) : { status: 'ok' } });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/runs/:id/cancel',
    operationId: 'cancelRun',
    tag: 'Runs',
    summary: 'Cancel a running run (open approval links stop working)',
    scope: 'runs:manage',
    // The run is looked up first: an unknown run is a 404 whatever the body says.
    request: { params: runParams, body: cancelBodySchema, bodyValidation: 'handler', bodyExample: cancelBodyExample },
    responses: {
      202: { description: 'Cancellation requested', schema: z.object({ runId: z.string(), status: z.literal('cancelling'), links: runLinks }), example: cancellingExample },
    },
    errors: { 404: 'No such run', 409: 'The run is not running' },
    async handler(ctx, { params, req, res, annotate }) {
      const run = await ctx.db.run.findUnique({ where: { id: params.id } });
      if (!run) throw new AppError('not_found', `No run ${params.id}`);
      annotate({ process: run.process });
      const { reason } = parseOr422(cancelBodySchema, req.body ?? {});
      await cancelRun(ctx, run, requireIdentity(req).email, reason);
      res.status(202).json({ runId: run.id, status: 'cancelling', links: { self: `/runs/${run.id}` } });
    },
  }),
];
