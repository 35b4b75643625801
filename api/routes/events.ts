import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Prisma } from '../../lib/db.js';
import type { InboundEvent } from '../../lib/generated/prisma/client.js';
import { AppError } from '../../lib/errors.js';
import type { LogContext } from '../../lib/log-context.js';
import { insertAuditEntry } from '../../lib/outbound-webhooks.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { applyEventToRun, isOpenEvent, routeEvent } from '../event-routing.js';
import { parseOr422, tooDeepError } from '../errors.js';
import { defineRoute } from '../route-table.js';
import { duplicateEventExample, eventListExample, receiveEventBodyExample, receivedEventExample } from '../examples.js';
import { verifySignedRequest } from '../signed-webhook.js';
import { exceedsJsonDepth } from '../../lib/json-depth.js';

export const inboundEventSchema = z.object({
  type: z.string().min(1).max(200).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" and "-"'),
  data: z.record(z.string(), z.unknown()).default({}),
});

export const operatorEventSchema = inboundEventSchema.extend({
  source: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and "-"').describe('The system the event stands for, e.g. "ats"'),
});

export const eventsQuerySchema = z.object({
  source: z.string().optional(),
  type: z.string().optional(),
  status: z.enum(['received', 'held', 'applied', 'started', 'unmatched', 'invalid']).optional(),
  runId: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** How long an event's sender waits for routing before it gets "received" and the sweep finishes the job. */
const INLINE_ROUTING_WAIT_MS = 2_000;

/**
 * Inbound events from the systems around the company (`POST /events/:source`), signed with the source's secret per
 * Standard Webhooks. Verified on the raw bytes, deduplicated by webhook-id, recorded, answered 202 at once.
 */
function eventView(event: InboundEvent) {
  return {
    eventId: event.id,
    source: event.source,
    webhookId: event.webhookId,
    type: event.type,
    status: event.status,
    runId: event.runId,
    reason: event.statusReason,
    // What a held event waits for (kept once it was applied or expired).
    ...(event.heldFor ? { heldFor: event.heldFor, correlationKey: event.correlationKey, holdUntil: event.holdUntil } : {}),
    ...(event.issues ? { issues: event.issues } : {}),
    payload: event.payload,
    receivedAt: event.receivedAt,
    routedAt: event.routedAt,
  };
}

export const eventViewSchema = z
  .object({
    eventId: z.string(),
    source: z.string().meta({ example: 'ats' }),
    webhookId: z.string(),
    type: z.string().meta({ example: 'offer.accepted' }),
    status: z.string().describe('received (routing pending) | held (its run has not started yet) | started | applied | unmatched | invalid'),
    runId: z.string().nullable(),
    reason: z.string().nullable(),
    heldFor: z.string().optional().describe('The process whose run (by correlationKey) a held event waits for'),
    correlationKey: z.string().nullable().optional(),
    holdUntil: z.iso.datetime().nullable().optional().describe('When a held event stops waiting and becomes unmatched'),
    issues: z.unknown().optional(),
    payload: z.unknown(),
    receivedAt: z.iso.datetime(),
    routedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Event' });

const eventParams = z.object({ id: z.string() });

/** Routes within the inline wait; a failure leaves the event as it was for the sweep (or the next delivery). */
function routeOrDefer(ctx: ApiContext, event: InboundEvent): Promise<InboundEvent> {
  return routeEvent(ctx, event, INLINE_ROUTING_WAIT_MS).catch((error: unknown) => {
    ctx.logger.warn({ err: error, eventId: event.id }, 'event recorded, routing deferred to the sweep');
    return event;
  });
}

/** The run an event went to (started, applied, or refused by), on this request's log lines. */
async function logRunOf(ctx: ApiContext, event: InboundEvent, annotate: (fields: LogContext) => void): Promise<InboundEvent> {
  if (!event.runId) return event;
  const run = await ctx.db.run.findUnique({ where: { id: event.runId }, select: { process: true } });
  annotate({ runId: event.runId, ...(run ? { process: run.process } : {}) });
  return event;
}

export const eventRoutes = [
  defineRoute({
    method: 'post',
    // `:id` as in GET /events/{id}: OpenAPI forbids two paths that differ only by a parameter's name.
    path: '/events/:id',
    operationId: 'receiveEvent',
    tag: 'Events',
    summary: "Receive an event from a source, signed per Standard Webhooks with that source's secret",
    description: 'Routed to the processes that declare it. Needs no API key: the signature (headers webhook-id, webhook-timestamp, webhook-signature) is the credential.',
    auth: 'none',
    request: {
      params: z.object({ id: z.string().describe('The source that sends the event, e.g. ats').meta({ example: 'ats' }) }),
      headers: z.object({ 'webhook-id': z.string(), 'webhook-timestamp': z.string(), 'webhook-signature': z.string() }),
      body: inboundEventSchema,
      bodyValidation: 'handler',
      bodyParsing: 'raw',
      bodyLimit: '256kb',
      bodyExample: receiveEventBodyExample,
    },
    responses: {
      202: { description: 'Recorded; status says how routing went (received: the sweep finishes it)', schema: eventViewSchema, example: receivedEventExample },
      200: { description: 'Duplicate webhook-id: the first event, routed again first while it is still held or received', schema: eventViewSchema.extend({ duplicate: z.literal(true) }), example: duplicateEventExample },
    },
    errors: { 400: 'Missing signature headers or malformed JSON', 401: 'Unknown source, bad signature or stale timestamp', 422: 'Not an event envelope' },
    async handler(ctx, { req, params, res, annotate }) {
      const source = params.id;
      const secret = ctx.config.EVENT_SOURCE_SECRETS?.get(source);
      // An unknown source and a bad signature look alike to the caller: neither reveals which sources exist.
      if (!secret) throw new AppError('unauthorized', 'Signature verification failed');
      const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const verified = verifySignedRequest(secret, req, body);
      if (exceedsJsonDepth(body)) throw tooDeepError();
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new AppError('bad_request', 'Malformed JSON in request body');
      }
      const event = parseOr422(inboundEventSchema, json, [], 'Event is invalid');
      try {
        const stored = await ctx.db.inboundEvent.create({
          data: { id: randomUUID(), source, webhookId: verified.id, type: event.type, payload: event.data as Prisma.InputJsonValue, status: 'received' },
        });
        res.status(202).json(eventView(await logRunOf(ctx, await routeOrDefer(ctx, stored), annotate)));
      } catch (error) {
        if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002') throw error;
        const first = await ctx.db.inboundEvent.findUniqueOrThrow({ where: { source_webhookId: { source, webhookId: verified.id } } });
        // Not settled yet (held for a run that may exist now, or not answered): this delivery routes it again. Still
        // one event and one Update (its id is the event id), so it is applied once however often it comes.
        const current = await logRunOf(ctx, isOpenEvent(first) ? await routeOrDefer(ctx, first) : first, annotate);
        res.status(200).setHeader('Idempotent-Replayed', 'true').json({ ...eventView(current), duplicate: true });
      }
    },
  }),

  /** The same event, recorded by a person with `runs:manage` for one run instead of sent by the system. */
  defineRoute({
    method: 'post',
    path: '/runs/:id/events',
    operationId: 'recordRunEvent',
    tag: 'Events',
    summary: 'Record an event for one run by hand, e.g. an offer accepted by phone; applied like a routed event',
    scope: 'runs:manage',
    request: {
      params: z.object({ id: z.string() }),
      headers: z.object({ 'Idempotency-Key': z.string().optional() }),
      body: operatorEventSchema,
      bodyLimit: '256kb',
      bodyExample: { source: 'ats', type: 'offer.accepted', data: { acceptedBy: 'phone' } },
    },
    responses: {
      200: { description: 'Applied (or, with a repeated Idempotency-Key, the first answer)', schema: eventViewSchema },
      202: { description: 'The run did not answer yet; the sweep finishes it', schema: eventViewSchema },
      409: { description: 'The run is not waiting for it (recorded as unmatched)', schema: eventViewSchema },
    },
    errors: { 404: 'No such run' },
    async handler(ctx, { req, res, params, body, annotate }) {
      const runId = params.id;
      const run = await ctx.db.run.findUnique({ where: { id: runId } });
      if (!run) throw new AppError('not_found', `No run ${runId}`);
      annotate({ process: run.process });
      const key = req.get('idempotency-key');
      const webhookId = `api:${key ?? randomUUID()}`;
      let event: InboundEvent;
      try {
        event = await ctx.db.inboundEvent.create({
          data: { id: randomUUID(), source: body.source, webhookId, type: body.type, payload: body.data as Prisma.InputJsonValue, status: 'received', runId },
        });
      } catch (error) {
        if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002') throw error;
        const first = await ctx.db.inboundEvent.findUniqueOrThrow({ where: { source_webhookId: { source: body.source, webhookId } } });
        return void res.status(200).setHeader('Idempotent-Replayed', 'true').json(eventView(first));
      }
      // event.recorded is no lifecycle event: no webhook delivery to wake.
      await ctx.db.$transaction((tx) =>
        insertAuditEntry(tx, { eventKey: `${runId}:event-recorded:${event.id}`, runId, action: 'event.recorded', actor: requireIdentity(req).email, ip: req.ip ?? null, details: { eventId: event.id, source: body.source, type: body.type } }),
      );
      const applied = await applyEventToRun(ctx, event, runId);
      const status = applied.status === 'applied' ? 200 : applied.status === 'received' ? 202 : 409;
      res.status(status).json(eventView(applied));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/events',
    operationId: 'listEvents',
    tag: 'Events',
    summary: 'Received events with their routing outcome (?status=held shows what waits for its run to start, ?status=unmatched what no run took)',
    scope: 'runs:read',
    request: { query: eventsQuerySchema },
    responses: { 200: { description: 'Events, newest first', schema: z.object({ items: z.array(eventViewSchema) }), example: eventListExample } },
    async handler(ctx, { query, res }) {
      const items = await ctx.db.inboundEvent.findMany({
        where: {
          ...(query.source ? { source: query.source } : {}),
          ...(query.type ? { type: query.type } : {}),
          ...(query.status ? { status: query.status } : {}),
          ...(query.runId ? { runId: query.runId } : {}),
        },
        orderBy: { receivedAt: 'desc' },
        take: query.limit,
      });
      res.json({ items: items.map(eventView) });
    },
  }),

  defineRoute({
    method: 'get',
    path: '/events/:id',
    operationId: 'getEvent',
    tag: 'Events',
    summary: 'One received event',
    scope: 'runs:read',
    request: { params: eventParams },
    responses: { 200: { description: 'The event', schema: eventViewSchema } },
    errors: { 404: 'No such event' },
    async handler(ctx, { params, res }) {
      const event = await ctx.db.inboundEvent.findUnique({ where: { id: params.id } });
      if (!event) throw new AppError('not_found', `No event ${params.id}`);
      res.json(eventView(event));
    },
  }),

  /** Routes an unmatched event again, e.g. after the run it was meant for was started by hand. */
  defineRoute({
    method: 'post',
    path: '/events/:id/route',
    operationId: 'routeEvent',
    tag: 'Events',
    summary: 'Route an unmatched or invalid event again',
    scope: 'runs:manage',
    request: { params: eventParams },
    responses: {
      200: { description: 'Routed', schema: eventViewSchema },
      202: { description: 'The run did not answer yet; the sweep finishes it', schema: eventViewSchema },
    },
    errors: { 404: 'No such event', 409: 'Already applied or started a run' },
    async handler(ctx, { params, res, annotate }) {
      const event = await ctx.db.inboundEvent.findUnique({ where: { id: params.id } });
      if (!event) throw new AppError('not_found', `No event ${params.id}`);
      if (event.status === 'applied' || event.status === 'started') {
        throw new AppError('conflict', `Event ${event.id} was already ${event.status} (run ${event.runId})`);
      }
      // Back to received first, so the sweep finishes the job if the run does not answer now.
      const requeued = await ctx.db.inboundEvent.update({ where: { id: event.id }, data: { status: 'received', statusReason: null } });
      const routed = await logRunOf(ctx, await routeEvent(ctx, requeued), annotate);
      // Still `received`: the run did not answer in time; the sweep finishes it.
      res.status(routed.status === 'received' ? 202 : 200).json(eventView(routed));
    },
  }),
];
