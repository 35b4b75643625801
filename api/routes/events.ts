import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import { z } from 'zod';
import { Prisma } from '../../lib/db.js';
import type { InboundEvent } from '../../lib/generated/prisma/client.js';
import { AppError } from '../../lib/errors.js';
import { insertAuditEntry } from '../../lib/outbound-webhooks.js';
import { authenticate, requireIdentity, requireScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { applyEventToRun, isOpenEvent, routeEvent } from '../event-routing.js';
import { parseOr422, tooDeepError } from '../errors.js';
import { jsonBody } from '../json-body.js';
import { verifySignedRequest } from '../signed-webhook.js';
import { exceedsJsonDepth } from '../../lib/json-depth.js';

export const inboundEventSchema = z.object({
  type: z.string().min(1).max(200).regex(/^[a-z0-9_.-]+$/i, 'letters, digits, ".", "_" and "-"'),
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

/** Routes within the inline wait; a failure leaves the event as it was for the sweep (or the next delivery). */
function routeOrDefer(ctx: ApiContext, event: InboundEvent): Promise<InboundEvent> {
  return routeEvent(ctx, event, INLINE_ROUTING_WAIT_MS).catch((error: unknown) => {
    ctx.logger.warn({ err: error, eventId: event.id }, 'event recorded, routing deferred to the sweep');
    return event;
  });
}

export function eventsRouter(ctx: ApiContext): Router {
  const router = Router();

  router.post('/events/:source', express.raw({ type: () => true, limit: '256kb' }), async (req, res) => {
    const source = String(req.params.source);
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
      res.status(202).json(eventView(await routeOrDefer(ctx, stored)));
    } catch (error) {
      if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002') throw error;
      const first = await ctx.db.inboundEvent.findUniqueOrThrow({ where: { source_webhookId: { source, webhookId: verified.id } } });
      // Not settled yet (held for a run that may exist now, or not answered): this delivery routes it again. Still
      // one event and one Update (its id is the event id), so it is applied once however often it comes.
      const current = isOpenEvent(first) ? await routeOrDefer(ctx, first) : first;
      res.status(200).setHeader('Idempotent-Replayed', 'true').json({ ...eventView(current), duplicate: true });
    }
  });

  /** The same event, recorded by a person with `runs:manage` for one run instead of sent by the system. */
  router.post('/runs/:id/events', jsonBody('256kb'), authenticate(ctx), requireScope('runs:manage'), async (req, res) => {
    const runId = String(req.params.id);
    const body = parseOr422(operatorEventSchema, req.body);
    const run = await ctx.db.run.findUnique({ where: { id: runId } });
    if (!run) throw new AppError('not_found', `No run ${runId}`);
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
  });

  router.get('/events', authenticate(ctx), requireScope('runs:read'), async (req, res) => {
    const query = parseOr422(eventsQuerySchema, req.query, ['query'], 'Query parameters are invalid');
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
  });

  router.get('/events/:id', authenticate(ctx), requireScope('runs:read'), async (req, res) => {
    const event = await ctx.db.inboundEvent.findUnique({ where: { id: String(req.params.id) } });
    if (!event) throw new AppError('not_found', `No event ${String(req.params.id)}`);
    res.json(eventView(event));
  });

  /** Routes an unmatched event again, e.g. after the run it was meant for was started by hand. */
  router.post('/events/:id/route', authenticate(ctx), requireScope('runs:manage'), async (req, res) => {
    const event = await ctx.db.inboundEvent.findUnique({ where: { id: String(req.params.id) } });
    if (!event) throw new AppError('not_found', `No event ${String(req.params.id)}`);
    if (event.status === 'applied' || event.status === 'started') {
      throw new AppError('conflict', `Event ${event.id} was already ${event.status} (run ${event.runId})`);
    }
    // Back to received first, so the sweep finishes the job if the run does not answer now.
    const requeued = await ctx.db.inboundEvent.update({ where: { id: event.id }, data: { status: 'received', statusReason: null } });
    const routed = await routeEvent(ctx, requeued);
    // Still `received`: the run did not answer in time; the sweep finishes it.
    res.status(routed.status === 'received' ? 202 : 200).json(eventView(routed));
  });

  return router;
}
