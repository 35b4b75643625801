import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { findProcess } from '../../processes/index.js';
import { computeKpis } from '../kpis.js';
import type { Kpis } from '../kpi-types.js';
import { defineRoute } from '../route-table.js';
import { decisionChannelSchema } from '../run-views.js';

const DAY = 86_400_000;

export const kpiQuerySchema = z
  .object({
    process: z.string().min(1).optional(),
    from: z.coerce.date({ error: 'must be an ISO date or date-time' }).optional(),
    to: z.coerce.date({ error: 'must be an ISO date or date-time' }).optional(),
  })
  .transform((q) => {
    const to = q.to ?? new Date();
    return { process: q.process, to, from: q.from ?? new Date(to.getTime() - 90 * DAY) };
  })
  .refine((q) => q.from < q.to, { path: ['from'], message: 'must be before to' });

const seconds = z.number().nullable();
export const kpisSchema = z
  .object({
    window: z.object({ from: z.string(), to: z.string() }),
    process: z.string().nullable(),
    runs: z.object({ started: z.number(), running: z.number(), completed: z.number(), rejected: z.number(), expired: z.number(), failed: z.number(), cancelled: z.number() }),
    cycleTime: z.object({ count: z.number(), p50: seconds, p90: seconds }),
    cycleTimeByWeek: z.array(z.object({ weekStart: z.string(), count: z.number(), p50: seconds })),
    steps: z.array(z.object({ step: z.string(), decided: z.number(), p50: seconds, p90: seconds, open: z.number(), requests: z.number(), breaches: z.number(), breachRate: z.number() })),
    approvers: z.array(z.object({ email: z.string(), name: z.string(), decided: z.number(), p50: seconds, p90: seconds, open: z.number() })),
    channels: z
      .array(z.object({ channel: decisionChannelSchema, decided: z.number(), p50: seconds }))
      .describe('Decisions per channel on requests opened in the window, most used first, with the median time to decide'),
    reminders: z.number(),
    escalations: z.number(),
    oldestOpen: z.array(
      z.object({ requestId: z.string(), runId: z.string(), runTitle: z.string(), process: z.string(), step: z.string(), stepTitle: z.string(), approverEmail: z.string(), approverName: z.string(), waitingSeconds: z.number(), expiresAt: z.string() }),
    ),
    weeklyThroughput: z.array(z.object({ weekStart: z.string(), started: z.number(), completed: z.number() })),
    tasks: z.array(
      z.object({
        group: z.string(),
        opened: z.number(),
        claimed: z.number(),
        timeToClaim: z.object({ p50: seconds, p90: seconds }),
        completed: z.number(),
        timeToComplete: z.object({ p50: seconds, p90: seconds }),
        open: z.number(),
        escalated: z.number(),
      }),
    ),
    incidents: z
      .array(
        z.object({
          severity: z.string(),
          opened: z.number(),
          acknowledged: z.number(),
          timeToAcknowledge: z.object({ p50: seconds, p90: seconds }),
          breaches: z.number().describe("Acknowledged later than the severity's acknowledgement time, or not by then"),
          escalated: z.number().describe('Pages that went past the on-call owner'),
          resolved: z.number(),
          timeToResolve: z.object({ p50: seconds, p90: seconds }),
          open: z.number(),
        }),
      )
      .describe('Incidents opened in the window, per severity; times from when each opened'),
  })
  .describe('Durations in seconds; rates between 0 and 1') satisfies z.ZodType<Kpis>;

export const kpiRoutes = [
  /** `GET /kpis?process=&from=&to=`: the window defaults to the last 90 days. */
  defineRoute({
    method: 'get',
    path: '/kpis',
    operationId: 'getKpis',
    tag: 'Operations',
    summary: 'Operations KPIs over a window (default: the last 90 days)',
    scope: 'runs:read',
    request: { query: kpiQuerySchema },
    responses: { 200: { description: 'KPIs', schema: kpisSchema } },
    errors: { 404: 'Unknown process' },
    async handler(ctx, { query, res }) {
      if (query.process && !findProcess(query.process)) throw new AppError('not_found', `Unknown process "${query.process}"`);
      res.json(await computeKpis(ctx.db, query));
    },
  }),
];
