import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import { z } from 'zod';
import { Prisma } from '../../lib/db.js';
import { AppError } from '../../lib/errors.js';
import { verifyWebhook, WebhookVerificationError } from '../../lib/webhook-signature.js';
import { authenticate, requireScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { parseOr422 } from '../errors.js';

export const inboundEventSchema = z.object({
  type: z.string().min(1).max(200).regex(/^[a-z0-9_.-]+$/i, 'letters, digits, ".", "_" and "-"'),
  data: z.record(z.string(), z.unknown()).default({}),
});

const listQuerySchema = z.object({
  source: z.string().optional(),
  status: z.enum(['received', 'applied', 'started', 'unmatched']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/**
 * Inbound events from the systems around the company (`POST /events/:source`), signed with the source's secret per
 * Standard Webhooks. Verified on the raw bytes, deduplicated by webhook-id, recorded, answered 202 at once.
 */
export function eventsRouter(ctx: ApiContext): Router {
  const router = Router();

  router.post('/events/:source', express.raw({ type: () => true, limit: '256kb' }), async (req, res) => {
    const source = String(req.params.source);
    const secret = ctx.config.EVENT_SOURCE_SECRETS?.[source];
    // An unknown source and a bad signature look alike to the caller: neither reveals which sources exist.
    if (!secret) throw new AppError('unauthorized', 'Signature verification failed');
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    let verified: { id: string };
    try {
      verified = verifyWebhook(secret, { id: req.get('webhook-id'), timestamp: req.get('webhook-timestamp'), signature: req.get('webhook-signature') }, body);
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      if (error.reason === 'missing_headers') throw new AppError('bad_request', error.message);
      throw new AppError('unauthorized', error.reason === 'stale_timestamp' ? error.message : 'Signature verification failed');
    }
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
      res.status(202).json({ eventId: stored.id, status: stored.status });
    } catch (error) {
      if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002') throw error;
      const first = await ctx.db.inboundEvent.findUniqueOrThrow({ where: { source_webhookId: { source, webhookId: verified.id } } });
      res.status(200).setHeader('Idempotent-Replayed', 'true').json({ eventId: first.id, status: first.status, duplicate: true });
    }
  });

  router.get('/events', authenticate(ctx), requireScope('runs:read'), async (req, res) => {
    const query = parseOr422(listQuerySchema, req.query, ['query'], 'Query parameters are invalid');
    const items = await ctx.db.inboundEvent.findMany({
      where: { ...(query.source ? { source: query.source } : {}), ...(query.status ? { status: query.status } : {}) },
      orderBy: { receivedAt: 'desc' },
      take: query.limit,
    });
    res.json({ items });
  });

  return router;
}
