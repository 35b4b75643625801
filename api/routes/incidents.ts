import type { Request, Response } from 'express';
import { z } from 'zod';
import { hasScope } from '../../lib/api-keys.js';
import { AppError } from '../../lib/errors.js';
import type { Prisma } from '../../lib/db.js';
import { incidentAreas, severityLevels } from '../../processes/incident-flow.js';
import { IncidentRefusal } from '../../processes/incident-messages.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { actOnIncident, closedBecause, findIncident, incidentOutcomeText, pagedPeople, postedStatuses, type IncidentActionKind, type IncidentOutcome, type IncidentWithRun } from '../incident-service.js';
import { defineRoute } from '../route-table.js';
import { sendActionError, sendUnanswered } from '../run-updates.js';

const timestamp = z.iso.datetime();
const personSchema = z.object({ email: z.string(), name: z.string() });
const incidentStatuses = ['paging', 'acknowledged', 'resolved', 'closed'] as const;

export const incidentViewSchema = z
  .object({
    runId: z.string().meta({ example: 'incident-key-erp_DIS-2027-0142' }),
    title: z.string(),
    area: z.enum(incidentAreas),
    severity: z.enum(severityLevels),
    status: z.enum(incidentStatuses).describe('paging: nobody acknowledged yet; closed: its run ended without a resolution'),
    runStatus: z.string(),
    openedAt: timestamp,
    acknowledgeBy: timestamp.describe("When the severity's acknowledgement time ran out"),
    acknowledgedAt: timestamp.nullable(),
    acknowledgedBy: personSchema.nullable().describe('Who acknowledged first: the owner'),
    escalationLevel: z.number().int().describe('How far the page went: 0 the on-call owner, 1 the next in the chain, …'),
    breached: z.boolean().describe('Acknowledged after acknowledgeBy, or not acknowledged and past it'),
    lastStatus: z.string().nullable(),
    lastStatusAt: timestamp.nullable(),
    statusUpdatesSent: z.number().int(),
    resolvedAt: timestamp.nullable(),
    resolution: z.string().nullable(),
  })
  .meta({ id: 'Incident' });

const incidentDetailSchema = incidentViewSchema
  .extend({
    paged: z.array(personSchema.extend({ as: z.string(), level: z.number().int(), pagedAt: timestamp, linkWorks: z.boolean() })).describe('Everyone paged, in order'),
    statuses: z.array(z.object({ text: z.string(), by: z.string(), at: timestamp })).describe('What the owner posted, oldest first'),
  })
  .meta({ id: 'IncidentDetail' });

function statusOf(incident: IncidentWithRun): (typeof incidentStatuses)[number] {
  if (incident.resolvedAt) return 'resolved';
  if (closedBecause(incident)) return 'closed';
  return incident.acknowledgedAt ? 'acknowledged' : 'paging';
}

function incidentView(incident: IncidentWithRun, now = new Date()) {
  const ackBy = incident.acknowledgeBy;
  const end = incident.acknowledgedAt ?? incident.run.closedAt ?? now;
  return {
    runId: incident.runId,
    title: incident.run.title,
    area: incident.area as (typeof incidentAreas)[number],
    severity: incident.severity as (typeof severityLevels)[number],
    status: statusOf(incident),
    runStatus: incident.run.status,
    openedAt: incident.openedAt.toISOString(),
    acknowledgeBy: ackBy.toISOString(),
    acknowledgedAt: incident.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy: incident.acknowledgedBy ? { email: incident.acknowledgedBy, name: incident.acknowledgedByName ?? incident.acknowledgedBy } : null,
    escalationLevel: incident.escalationLevel,
    breached: end > ackBy,
    lastStatus: incident.lastStatus,
    lastStatusAt: incident.lastStatusAt?.toISOString() ?? null,
    statusUpdatesSent: incident.statusUpdatesSent,
    resolvedAt: incident.resolvedAt?.toISOString() ?? null,
    resolution: incident.resolution,
  };
}

const listQuerySchema = z.object({
  status: z.enum(['open', 'resolved']).optional().describe('open: not resolved and its run still running'),
  severity: z.enum(severityLevels).optional(),
  area: z.enum(incidentAreas).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const incidentParams = z.object({ id: z.string().meta({ example: 'incident-key-erp_DIS-2027-0142' }) });
const pendingSchema = z.object({ status: z.literal('pending'), message: z.string() });

async function incidentOr404(ctx: ApiContext, id: string): Promise<IncidentWithRun> {
  const incident = await findIncident(ctx.db, id);
  if (!incident) throw new AppError('not_found', `No incident ${id}`);
  return incident;
}

/** runs:read sees every incident; incidents:write alone sees those the key's person was paged for. */
async function mayRead(ctx: ApiContext, req: Request, incident: IncidentWithRun): Promise<void> {
  const identity = requireIdentity(req);
  if (hasScope(identity, 'runs:read')) return;
  const paged = (await pagedPeople(ctx.db, incident.runId)).some((p) => p.email === identity.email.toLowerCase());
  if (!hasScope(identity, 'incidents:write') || !paged) {
    throw new AppError('forbidden', `Reading incident ${incident.runId} needs "runs:read", or "incidents:write" for someone it was paged to`, { requiredScope: 'runs:read' });
  }
}

/** The JSON answer for each way an incident action can end: the same rules as its page, as status codes. */
async function answer(ctx: ApiContext, res: Response, incident: IncidentWithRun, outcome: IncidentOutcome): Promise<void> {
  if (outcome.kind === 'done') return void res.json(incidentView((await findIncident(ctx.db, incident.runId)) ?? incident));
  const message = incidentOutcomeText(outcome);
  switch (outcome.kind) {
    case 'already_acknowledged':
      return sendActionError(res, 409, 'conflict', message, { acknowledgedBy: outcome.by });
    case 'invalid_form':
      return sendActionError(res, 422, 'validation_failed', message, { issues: Object.entries(outcome.errors).map(([path, text]) => ({ path, message: text })) });
    case 'refused':
      if (outcome.refusal === IncidentRefusal.notPaged || outcome.refusal === IncidentRefusal.notOwner) return sendActionError(res, 403, 'forbidden', message);
      return sendActionError(res, 409, 'conflict', message, { refusal: outcome.refusal });
    default:
      return sendUnanswered(res, outcome, message);
  }
}

const actionErrors = {
  403: 'The key’s person was not paged for it (acknowledge), or does not own it (status, resolve)',
  404: 'No such incident',
  409: 'Someone acknowledged it first (details.acknowledgedBy says who), or nobody has yet (status, resolve)',
  410: 'It is resolved, or its run ended',
  422: 'Invalid body: the status or summary is missing or too long',
};

/** Acknowledge, post status, resolve: the key's person acts on the incident, through the same Updates as the page. */
function actionRoute(action: IncidentActionKind, path: string, summary: string, body?: z.ZodObject, bodyExample?: unknown) {
  return defineRoute({
    method: 'post',
    path: `/incidents/:id/${path}`,
    operationId: { acknowledge: 'acknowledgeIncident', status: 'postIncidentStatus', resolve: 'resolveIncident' }[action],
    tag: 'Incidents',
    summary,
    scope: 'incidents:write',
    request: { params: incidentParams, ...(body ? { body, bodyExample } : {}) },
    responses: { 200: { description: 'Done: the incident as it stands now', schema: incidentViewSchema }, 202: { description: 'Sent; the run has not confirmed it yet. Repeating is safe.', schema: pendingSchema } },
    errors: actionErrors,
    async handler(ctx, { req, res, params, body: parsed, annotate }) {
      const incident = await incidentOr404(ctx, params.id);
      annotate({ runId: incident.runId, process: incident.run.process });
      const identity = requireIdentity(req);
      const typed = (parsed ?? {}) as { text?: string; summary?: string };
      await answer(ctx, res, incident, await actOnIncident(ctx, incident, action, { email: identity.email, channel: 'api', ip: req.ip, userAgent: req.get('user-agent') }, typed));
    },
  });
}

export const incidentRoutes = [
  defineRoute({
    method: 'get',
    path: '/incidents',
    operationId: 'listIncidents',
    tag: 'Incidents',
    summary: 'Incidents, newest first: open or resolved, by severity or area',
    scope: 'runs:read',
    request: { query: listQuerySchema },
    responses: { 200: { description: 'Incidents', schema: z.object({ items: z.array(incidentViewSchema) }) } },
    async handler(ctx, { res, query }) {
      const where: Prisma.IncidentWhereInput = {
        ...(query.severity ? { severity: query.severity } : {}),
        ...(query.area ? { area: query.area } : {}),
        ...(query.status === 'open' ? { resolvedAt: null, run: { status: { in: ['running', 'not_started'] } } } : query.status === 'resolved' ? { resolvedAt: { not: null } } : {}),
      };
      const incidents = await ctx.db.incident.findMany({ where, include: { run: true }, orderBy: [{ openedAt: 'desc' }, { runId: 'desc' }], take: query.limit });
      const now = new Date();
      res.json({ items: incidents.map((incident) => incidentView(incident, now)) });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/incidents/:id',
    operationId: 'getIncident',
    tag: 'Incidents',
    summary: 'An incident: where its page went, who owns it, the statuses posted and its resolution',
    accessNote: 'runs:read, or incidents:write for someone it was paged to',
    request: { params: incidentParams },
    responses: { 200: { description: 'The incident', schema: incidentDetailSchema } },
    errors: { 404: 'No such incident' },
    async handler(ctx, { req, res, params, annotate }) {
      const incident = await incidentOr404(ctx, params.id);
      annotate({ runId: incident.runId, process: incident.run.process });
      await mayRead(ctx, req, incident);
      const paged = await pagedPeople(ctx.db, incident.runId);
      const statuses = await postedStatuses(ctx.db, incident.runId);
      res.json({
        ...incidentView(incident),
        paged: paged.map((p) => ({ ...p, pagedAt: p.pagedAt.toISOString() })),
        statuses: statuses.map((s) => ({ ...s, at: s.at.toISOString() })),
      });
    },
  }),

  actionRoute('acknowledge', 'acknowledge', 'Acknowledge an incident the key holder was paged for: the paging stops and they own it; if someone was first, 409 says who'),
  actionRoute('status', 'status', 'Post a status for the next update to the stakeholders (the owner only)', z.object({ text: z.string().max(2000) }), { text: 'Second supplier confirmed 4 t of resin for Thursday' }),
  actionRoute('resolve', 'resolve', 'Resolve the incident with a summary (the owner only): the stakeholders are told and the review task opens', z.object({ summary: z.string().max(4000) }), {
    summary: 'Deliveries resumed from the second supplier; the first is back from Monday.',
  }),
];
