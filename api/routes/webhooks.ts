import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { createEgressPolicy, destinationRefusal } from '../../lib/egress.js';
import { AppError } from '../../lib/errors.js';
import type { WebhookAttempt, WebhookDelivery, WebhookSubscription } from '../../lib/generated/prisma/client.js';
import { attemptDelivery, lifecycleEventTypes, newWebhookSecret } from '../../lib/outbound-webhooks.js';
import { findProcess } from '../../processes/index.js';
import { authenticate, requireIdentity, requireScope } from '../auth.js';
import type { ApiContext } from '../context.js';
import { parseOr422 } from '../errors.js';

export const createSubscriptionSchema = z.object({
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2000)
    .describe('Where deliveries are POSTed'),
  eventTypes: z
    .array(z.enum([...lifecycleEventTypes, '*'], { error: `must be one of ${lifecycleEventTypes.join(', ')} or "*"` }))
    .min(1, 'name at least one event type, or "*"')
    .default(['*']),
  process: z
    .string()
    .refine((key) => findProcess(key) !== undefined, 'is not a known process')
    .optional()
    .describe('Only runs of this process'),
  description: z.string().trim().max(500).optional(),
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be "whsec_" followed by at least 24 bytes of base64')
    .optional()
    .describe('Signing secret; generated when absent and shown once'),
});

export const deliveriesQuerySchema = z.object({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  runId: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const subscriptionView = (s: WebhookSubscription) => ({
  id: s.id,
  url: s.url,
  eventTypes: s.eventTypes,
  process: s.process,
  description: s.description,
  createdBy: s.createdBy,
  createdAt: s.createdAt,
});

const deliveryView = (d: WebhookDelivery & { attemptLog: WebhookAttempt[] }) => ({
  id: d.id,
  eventId: d.eventId,
  eventType: d.eventType,
  runId: d.runId,
  status: d.status,
  attempts: d.attempts,
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  createdAt: d.createdAt,
  deliveredAt: d.deliveredAt,
  payload: d.payload,
  attemptLog: d.attemptLog.map((a) => ({ attempt: a.attempt, at: a.at, statusCode: a.statusCode, error: a.error, durationMs: a.durationMs, trigger: a.trigger })),
});

/** Outbound webhook subscriptions, their delivery log, and manual redelivery (scope webhooks:manage). */
export function webhooksRouter(ctx: ApiContext): Router {
  const router = Router();
  const egress = ctx.egress ?? createEgressPolicy();
  router.use('/webhooks', authenticate(ctx), requireScope('webhooks:manage'));

  async function findSubscription(id: string): Promise<WebhookSubscription> {
    const subscription = await ctx.db.webhookSubscription.findUnique({ where: { id } });
    if (!subscription || subscription.deletedAt) throw new AppError('not_found', `No webhook subscription ${id}`);
    return subscription;
  }

  router.post('/webhooks', async (req, res) => {
    const body = parseOr422(createSubscriptionSchema, req.body);
    // Checked now for a clear answer; every delivery checks the address it connects to again (DNS can change).
    const refusal = await destinationRefusal(egress, body.url);
    if (refusal) {
      const message = `refused by egress policy: ${refusal}; webhooks go to public addresses only (an operator can allow a host with WEBHOOK_ALLOWED_HOSTS)`;
      throw new AppError('validation_failed', 'Request body is invalid', { issues: [{ path: 'url', message }] });
    }
    const secret = body.secret ?? newWebhookSecret();
    const subscription = await ctx.db.webhookSubscription.create({
      data: {
        id: `whk_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
        url: body.url,
        eventTypes: body.eventTypes.includes('*') ? ['*'] : [...new Set(body.eventTypes)],
        process: body.process ?? null,
        description: body.description ?? null,
        secret,
        createdBy: requireIdentity(req).email,
      },
    });
    // The secret is shown this once; deliveries are signed with it.
    res.status(201).location(`/webhooks/${subscription.id}`).json({ ...subscriptionView(subscription), secret });
  });

  router.get('/webhooks', async (_req, res) => {
    const items = await ctx.db.webhookSubscription.findMany({ where: { deletedAt: null }, orderBy: { createdAt: 'desc' } });
    res.json({ items: items.map(subscriptionView) });
  });

  router.get('/webhooks/:id', async (req, res) => {
    const subscription = await findSubscription(String(req.params.id));
    const counts = await ctx.db.webhookDelivery.groupBy({ by: ['status'], where: { subscriptionId: subscription.id }, _count: { _all: true } });
    res.json({ ...subscriptionView(subscription), deliveries: Object.fromEntries(counts.map((c) => [c.status, c._count._all])) });
  });

  router.delete('/webhooks/:id', async (req, res) => {
    const subscription = await findSubscription(String(req.params.id));
    await ctx.db.webhookSubscription.update({ where: { id: subscription.id }, data: { deletedAt: new Date() } });
    res.status(204).end();
  });

  router.get('/webhooks/:id/deliveries', async (req, res) => {
    const subscription = await findSubscription(String(req.params.id));
    const query = parseOr422(deliveriesQuerySchema, req.query, ['query'], 'Query parameters are invalid');
    const items = await ctx.db.webhookDelivery.findMany({
      where: { subscriptionId: subscription.id, ...(query.status ? { status: query.status } : {}), ...(query.runId ? { runId: query.runId } : {}) },
      orderBy: [{ createdAt: 'desc' }, { sequence: 'desc' }],
      take: query.limit,
      include: { attemptLog: { orderBy: { attempt: 'asc' } } },
    });
    res.json({ items: items.map(deliveryView) });
  });

  /** Sends the delivery again now and answers with how it went; the log records the attempt as manual. */
  router.post('/webhooks/:id/deliveries/:deliveryId/redeliver', async (req, res) => {
    const subscription = await findSubscription(String(req.params.id));
    const delivery = await ctx.db.webhookDelivery.findFirst({ where: { id: String(req.params.deliveryId), subscriptionId: subscription.id } });
    if (!delivery) throw new AppError('not_found', `No delivery ${String(req.params.deliveryId)} for this subscription`);
    const result = await attemptDelivery(ctx.db, delivery.id, 'manual', egress);
    const updated = await ctx.db.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id }, include: { attemptLog: { orderBy: { attempt: 'asc' } } } });
    res.json({ delivered: result.ok, statusCode: result.statusCode, error: result.error, delivery: deliveryView(updated) });
  });

  return router;
}
