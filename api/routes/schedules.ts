import { Router, type Request } from 'express';
import { ScheduleAlreadyRunning, ScheduleNotFoundError, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { runSearchAttributes } from '../../lib/run-record.js';
import { durationSchema } from '../../processes/shared.js';
import { authenticate, requireIdentity, requireScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { parseOr422 } from '../errors.js';
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

/**
 * Recurring runs of a process (Temporal Schedules): a monthly spend review, the annual supplier re-screening.
 * The input is validated once, when the schedule is created, exactly as POST /runs would.
 */
export function schedulesRouter(ctx: ApiContext): Router {
  const router = Router();
  router.use('/schedules', authenticate(ctx), requireScope('schedules:manage'));

  async function opsflowSchedule(req: Request): Promise<{ handle: ScheduleHandle; description: ScheduleDescription }> {
    const id = String(req.params.id);
    const handle = ctx.temporal.schedule.getHandle(id);
    try {
      const description = await handle.describe();
      if ((description.memo as Partial<OpsflowScheduleMemo> | undefined)?.opsflow) return { handle, description };
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
    throw new AppError('not_found', `No schedule ${id}`);
  }

  router.post('/schedules', async (req, res) => {
    const body = parseOr422(createScheduleSchema, req.body);
    const identity = requireIdentity(req);
    const { process, input, settings } = await validateStartRequest(
      ctx,
      { process: body.process, input: body.input, settings: body.settings },
      starterFor(ctx, identity),
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
  });

  router.get('/schedules', async (_req, res) => {
    const items = [];
    for await (const summary of ctx.temporal.schedule.list()) {
      if (!(summary.memo as Partial<OpsflowScheduleMemo> | undefined)?.opsflow) continue;
      items.push(scheduleView(await ctx.temporal.schedule.getHandle(summary.scheduleId).describe()));
    }
    res.json({ items });
  });

  router.get('/schedules/:id', async (req, res) => {
    res.json(scheduleView((await opsflowSchedule(req)).description));
  });

  router.post('/schedules/:id/pause', async (req, res) => {
    const { note } = parseOr422(pauseScheduleSchema, req.body ?? {});
    const { handle } = await opsflowSchedule(req);
    await handle.pause(note ?? `paused by ${requireIdentity(req).email}`);
    res.json(scheduleView(await handle.describe()));
  });

  router.post('/schedules/:id/unpause', async (req, res) => {
    const { handle } = await opsflowSchedule(req);
    await handle.unpause(`resumed by ${requireIdentity(req).email}`);
    res.json(scheduleView(await handle.describe()));
  });

  /** Starts one run now, outside the calendar (e.g. to try a new schedule). */
  router.post('/schedules/:id/trigger', async (req, res) => {
    const { handle } = await opsflowSchedule(req);
    await handle.trigger('ALLOW_ALL');
    res.status(202).json(scheduleView(await handle.describe()));
  });

  router.delete('/schedules/:id', async (req, res) => {
    const { handle } = await opsflowSchedule(req);
    await handle.delete();
    res.status(204).end();
  });

  return router;
}
