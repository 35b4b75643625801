import { ScheduleAlreadyRunning, ScheduleNotFoundError, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { runSearchAttributes } from '../../lib/run-record.js';
import { durationSchema } from '../../processes/shared.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { defineRoute } from '../route-table.js';
import { createScheduleBodyExample, scheduleCreatedExample } from '../examples.js';
import { starterFor, validateStartRequest } from '../run-service.js';
import type { RunArgs } from '../../processes/index.js';

const knownTimeZones = new Set(Intl.supportedValuesOf('timeZone'));

export const createScheduleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{2,62}$/, '3–63 lowercase letters, digits and "-", e.g. "monthly-spend-review"')
      .describe('Your name for the schedule; also its Temporal schedule id'),
    process: z.string().min(1, 'required'),
    input: z.unknown().refine((v) => v !== undefined, 'required'),
    settings: z.record(z.string(), z.unknown()).optional(),
    every: durationSchema.optional().describe('Start a run this often, e.g. "30m", "1d"'),
    cron: z
      .string()
      .regex(/^(\S+\s+){4}\S+$/, 'must be five cron fields, e.g. "0 9 1 * *" (09:00 on the 1st of each month)')
      .optional(),
    timezone: z.string().refine((tz) => knownTimeZones.has(tz) || tz === 'UTC', 'is not an IANA time zone such as Europe/Berlin').default('UTC'),
    note: z.string().trim().max(500).optional(),
    paused: z.boolean().default(false),
  })
  .refine((s) => (s.every === undefined) !== (s.cron === undefined), { path: ['every'], message: 'give exactly one of "every" or "cron"' });

export const pauseScheduleSchema = z.object({ note: z.string().trim().max(500).optional() });

interface OpsflowScheduleMemo {
  opsflow: { process: string; every?: string; cron?: string; timezone: string; createdBy: string };
}

function scheduleView(description: ScheduleDescription) {
  const memo = (description.memo as OpsflowScheduleMemo | undefined)?.opsflow;
  return {
    id: description.scheduleId,
    process: memo?.process,
    every: memo?.every ?? null,
    cron: memo?.cron ?? null,
    timezone: memo?.timezone ?? 'UTC',
    createdBy: memo?.createdBy,
    paused: description.state.paused,
    note: description.state.note ?? null,
    nextRunTimes: description.info.nextActionTimes.slice(0, 5),
    runsStarted: description.info.numActionsTaken,
    recentRuns: description.info.recentActions.map((a) => ({ runId: a.action.workflow.workflowId, scheduledAt: a.scheduledAt, startedAt: a.takenAt })),
    createdAt: description.info.createdAt,
  };
}

export const scheduleSchema = z
  .object({
    id: z.string(),
    process: z.string().optional(),
    every: z.string().nullable(),
    cron: z.string().nullable(),
    timezone: z.string(),
    createdBy: z.string().optional(),
    paused: z.boolean(),
    note: z.string().nullable(),
    nextRunTimes: z.array(z.iso.datetime()),
    runsStarted: z.number().int(),
    recentRuns: z.array(z.object({ runId: z.string(), scheduledAt: z.iso.datetime(), startedAt: z.iso.datetime() })),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Schedule' });

async function opsflowSchedule(ctx: ApiContext, id: string): Promise<{ handle: ScheduleHandle; description: ScheduleDescription }> {
  const handle = ctx.temporal.schedule.getHandle(id);
  try {
    const description = await handle.describe();
    if ((description.memo as Partial<OpsflowScheduleMemo> | undefined)?.opsflow) return { handle, description };
  } catch (error) {
    if (!(error instanceof ScheduleNotFoundError)) throw error;
  }
  throw new AppError('not_found', `No schedule ${id}`);
}

const scheduleParams = z.object({ id: z.string().meta({ example: 'monthly-spend-review' }) });
const SCOPE = 'schedules:manage';
const scheduleAnswer = (description: string) => ({ description, schema: scheduleSchema });

/**
 * Recurring runs of a process (Temporal Schedules): a monthly spend review, the annual supplier re-screening.
 * The input is validated once, when the schedule is created, exactly as POST /runs would.
 */
export const scheduleRoutes = [
  defineRoute({
    method: 'post',
    path: '/schedules',
    operationId: 'createSchedule',
    tag: 'Schedules',
    summary: 'Run a process on a schedule; the input is validated now, as POST /runs',
    description: 'Needs runs:start:<process> as well.',
    scope: SCOPE,
    request: { body: createScheduleSchema, bodyExample: createScheduleBodyExample },
    responses: { 201: { description: 'Created, with the next run times', schema: scheduleSchema, headers: { Location: 'The schedule' }, example: scheduleCreatedExample } },
    errors: { 404: 'Unknown process', 409: 'Name taken', 422: 'Invalid input, settings, interval or cron' },
    async handler(ctx, { req, body, res }) {
      const identity = requireIdentity(req);
      const { process, input, settings } = await validateStartRequest(
        ctx,
        { process: body.process, input: body.input, settings: body.settings },
        starterFor(identity),
      );
      const memo: OpsflowScheduleMemo = {
        opsflow: { process: process.key, every: body.every, cron: body.cron, timezone: body.timezone, createdBy: identity.email },
      };
      try {
        const handle = await ctx.temporal.schedule.create({
          scheduleId: body.id,
          spec: { ...(body.every ? { intervals: [{ every: body.every }] } : { cronExpressions: [body.cron!] }), timezone: body.timezone },
          action: {
            type: 'startWorkflow',
            workflowType: process.workflowType,
            taskQueue: process.taskQueue ?? ctx.config.TEMPORAL_TASK_QUEUE,
            // Temporal appends the scheduled time, so every run gets its own id.
            workflowId: `${process.key}-sched-${body.id}`,
            // No policy here: each scheduled run resolves the policy in force when it starts (settings over it).
            args: [{ input, settings, startedBy: identity.email, trigger: { kind: 'schedule', scheduleId: body.id } } satisfies RunArgs<unknown, unknown>],
            typedSearchAttributes: runSearchAttributes(process, input),
          },
          // Each run stands alone: a review still waiting for approvals must not hold back the next one.
          policies: { overlap: 'ALLOW_ALL', catchupWindow: '1 day' },
          state: { paused: body.paused, note: body.note },
          memo: memo as unknown as Record<string, unknown>,
        });
        res.status(201).location(`/schedules/${body.id}`).json(scheduleView(await handle.describe()));
      } catch (error) {
        if (error instanceof ScheduleAlreadyRunning) throw new AppError('conflict', `A schedule named ${body.id} already exists`);
        if ((error as { code?: number }).code === 3 /* INVALID_ARGUMENT */) {
          throw new AppError('validation_failed', 'Temporal refused the schedule', { issues: [{ path: body.cron ? 'cron' : 'every', message: (error as Error).message }] });
        }
        throw error;
      }
    },
  }),
  defineRoute({
    method: 'get',
    path: '/schedules',
    operationId: 'listSchedules',
    tag: 'Schedules',
    summary: 'Schedules with next run times and recent runs',
    scope: SCOPE,
    responses: { 200: { description: 'Schedules', schema: z.object({ items: z.array(scheduleSchema) }) } },
    async handler(ctx, { res }) {
      const items = [];
      for await (const summary of ctx.temporal.schedule.list()) {
        if (!(summary.memo as Partial<OpsflowScheduleMemo> | undefined)?.opsflow) continue;
        items.push(scheduleView(await ctx.temporal.schedule.getHandle(summary.scheduleId).describe()));
      }
      res.json({ items });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/schedules/:id',
    operationId: 'getSchedule',
    tag: 'Schedules',
    summary: 'A schedule',
    scope: SCOPE,
    request: { params: scheduleParams },
    responses: { 200: scheduleAnswer('The schedule') },
    errors: { 404: 'No such schedule' },
    async handler(ctx, { params, res }) {
      res.json(scheduleView((await opsflowSchedule(ctx, params.id)).description));
    },
  }),
  defineRoute({
    method: 'post',
    path: '/schedules/:id/pause',
    operationId: 'pauseSchedule',
    tag: 'Schedules',
    summary: 'Pause (no runs start until unpaused)',
    scope: SCOPE,
    request: { params: scheduleParams, body: pauseScheduleSchema },
    responses: { 200: scheduleAnswer('Paused') },
    errors: { 404: 'No such schedule' },
    async handler(ctx, { req, params, body, res }) {
      const { note } = body;
      const { handle } = await opsflowSchedule(ctx, params.id);
      await handle.pause(note ?? `paused by ${requireIdentity(req).email}`);
      res.json(scheduleView(await handle.describe()));
    },
  }),
  defineRoute({
    method: 'post',
    path: '/schedules/:id/unpause',
    operationId: 'unpauseSchedule',
    tag: 'Schedules',
    summary: 'Resume',
    scope: SCOPE,
    request: { params: scheduleParams },
    responses: { 200: scheduleAnswer('Resumed') },
    errors: { 404: 'No such schedule' },
    async handler(ctx, { req, params, res }) {
      const { handle } = await opsflowSchedule(ctx, params.id);
      await handle.unpause(`resumed by ${requireIdentity(req).email}`);
      res.json(scheduleView(await handle.describe()));
    },
  }),
  /** Starts one run now, outside the calendar (e.g. to try a new schedule). */
  defineRoute({
    method: 'post',
    path: '/schedules/:id/trigger',
    operationId: 'triggerSchedule',
    tag: 'Schedules',
    summary: 'Start one run now',
    scope: SCOPE,
    request: { params: scheduleParams },
    responses: { 202: scheduleAnswer('Started') },
    errors: { 404: 'No such schedule' },
    async handler(ctx, { params, res }) {
      const { handle } = await opsflowSchedule(ctx, params.id);
      await handle.trigger('ALLOW_ALL');
      res.status(202).json(scheduleView(await handle.describe()));
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/schedules/:id',
    operationId: 'deleteSchedule',
    tag: 'Schedules',
    summary: 'Delete (runs already started go on)',
    scope: SCOPE,
    request: { params: scheduleParams },
    responses: { 204: { description: 'Deleted' } },
    errors: { 404: 'No such schedule' },
    async handler(ctx, { params, res }) {
      const { handle } = await opsflowSchedule(ctx, params.id);
      await handle.delete();
      res.status(204).end();
    },
  }),
];
