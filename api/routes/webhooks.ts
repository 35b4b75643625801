import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { createEgressPolicy, destinationRefusal } from '../../lib/egress.js';
import { AppError } from '../../lib/errors.js';
import type { WebhookAttempt, WebhookDelivery, WebhookSubscription } from '../../lib/generated/prisma/client.js';
import { attemptDelivery, lifecycleEventTypes, newWebhookSecret } from '../../lib/outbound-webhooks.js';
import { findProcess } from '../../processes/index.js';
import { requireIdentity } from '../auth.js';
import type { ApiContext } from '../context.js';
import { defineRoute } from '../route-table.js';
import { createWebhookBodyExample, webhookCreatedExample } from '../examples.js';

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

export const subscriptionSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    process: z.string().nullable(),
    description: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'WebhookSubscription' });

export const deliverySchema = z
  .object({
    id: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    runId: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.iso.datetime(),
    deliveredAt: z.iso.datetime().nullable(),
    payload: z.unknown(),
    attemptLog: z.array(
      z.object({ attempt: z.number().int(), at: z.iso.datetime(), statusCode: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number().int(), trigger: z.string() }),
    ),
  })
  .meta({ id: 'WebhookDelivery' });

const subscriptionParams = z.object({ id: z.string() });
const SCOPE = 'webhooks:manage';

/** Outbound webhook subscriptions, their delivery log, and manual redelivery (scope webhooks:manage). */
export const webhookRoutes = [
  defineRoute({
    method: 'post',
    path: '/webhooks',
    operationId: 'createWebhook',
    tag: 'Webhooks',
    summary: 'Subscribe a URL to run lifecycle events; the signing secret is returned once',
    scope: SCOPE,
    request: { body: createSubscriptionSchema, bodyExample: createWebhookBodyExample },
    responses: { 201: { description: 'Subscribed', schema: subscriptionSchema.extend({ secret: z.string() }), headers: { Location: 'The subscription' }, example: webhookCreatedExample } },
    errors: { 422: 'Invalid URL (or refused by the egress policy), event type or process' },
    async handler(ctx, { req, body, res }) {
      const egress = ctx.egress ?? createEgressPolicy();
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
    },
  }),
  defineRoute({
    method: 'get',
    path: '/webhooks',
    operationId: 'listWebhooks',
    tag: 'Webhooks',
    summary: 'Webhook subscriptions, newest first',
    scope: SCOPE,
    responses: { 200: { description: 'Subscriptions', schema: z.object({ items: z.array(subscriptionSchema) }) } },
    async handler(ctx, { res }) {
      const items = await ctx.db.webhookSubscription.findMany({ where: { deletedAt: null }, orderBy: { createdAt: 'desc' } });
      res.json({ items: items.map(subscriptionView) });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/webhooks/:id',
    operationId: 'getWebhook',
    tag: 'Webhooks',
    summary: 'A subscription with delivery counts by status',
    scope: SCOPE,
    request: { params: subscriptionParams },
    responses: { 200: { description: 'The subscription', schema: subscriptionSchema.extend({ deliveries: z.record(z.string(), z.number().int()) }) } },
    errors: { 404: 'No such subscription' },
    async handler(ctx, { params, res }) {
      const subscription = await findSubscription(ctx, params.id);
      const counts = await ctx.db.webhookDelivery.groupBy({ by: ['status'], where: { subscriptionId: subscription.id }, _count: { _all: true } });
      res.json({ ...subscriptionView(subscription), deliveries: Object.fromEntries(counts.map((c) => [c.status, c._count._all])) });
    },
  }),
  defineRoute({
    method: 'delete',
    path: '/webhooks/:id',
    operationId: 'deleteWebhook',
    tag: 'Webhooks',
    summary: 'Unsubscribe (pending deliveries are dropped)',
    scope: SCOPE,
    request: { params: subscriptionParams },
    responses: { 204: { description: 'Deleted' } },
    errors: { 404: 'No such subscription' },
    async handler(ctx, { params, res }) {
      const subscription = await findSubscription(ctx, params.id);
      await ctx.db.webhookSubscription.update({ where: { id: subscription.id }, data: { deletedAt: new Date() } });
      res.status(204).end();
    },
  }),
  defineRoute({
    method: 'get',
    path: '/webhooks/:id/deliveries',
    operationId: 'listWebhookDeliveries',
    tag: 'Webhooks',
    summary: 'The delivery log: each event, its status and every attempt, newest first',
    scope: SCOPE,
    request: { params: subscriptionParams, query: deliveriesQuerySchema },
    responses: { 200: { description: 'Deliveries', schema: z.object({ items: z.array(deliverySchema) }) } },
    errors: { 404: 'No such subscription' },
    async handler(ctx, { params, query, res }) {
      const subscription = await findSubscription(ctx, params.id);
      const items = await ctx.db.webhookDelivery.findMany({
        where: { subscriptionId: subscription.id, ...(query.status ? { status: query.status } : {}), ...(query.runId ? { runId: query.runId } : {}) },
        orderBy: [{ createdAt: 'desc' }, { sequence: 'desc' }],
        take: query.limit,
        include: { attemptLog: { orderBy: { attempt: 'asc' } } },
      });
      res.json({ items: items.map(deliveryView) });
    },
  }),
  /** Sends the delivery again now and answers with how it went; the log records the attempt as manual. */
  defineRoute({
    method: 'post',
    path: '/webhooks/:id/deliveries/:deliveryId/redeliver',
    operationId: 'redeliverWebhook',
    tag: 'Webhooks',
    summary: 'Send a delivery again now (same webhook-id) and report the answer',
    scope: SCOPE,
    request: { params: z.object({ id: z.string(), deliveryId: z.string() }) },
    responses: {
      200: {
        description: 'Attempted; `delivered` says how it went',
        schema: z.object({ delivered: z.boolean(), statusCode: z.number().int().nullable().optional(), error: z.string().nullable().optional(), delivery: deliverySchema }),
      },
    },
    errors: { 404: 'No such subscription or delivery' },
    async handler(ctx, { params, res }) {
      const egress = ctx.egress ?? createEgressPolicy();
      const subscription = await findSubscription(ctx, params.id);
      const delivery = await ctx.db.webhookDelivery.findFirst({ where: { id: params.deliveryId, subscriptionId: subscription.id } });
      if (!delivery) throw new AppError('not_found', `No delivery ${params.deliveryId} for this subscription`);
      const result = await attemptDelivery(ctx.db, delivery.id, 'manual', egress);
      const updated = await ctx.db.webhookDelivery.findUniqueOrThrow({ where: { id: delivery.id }, include: { attemptLog: { orderBy: { attempt: 'asc' } } } });
      res.json({ delivered: result.ok, statusCode: result.statusCode, error: result.error, delivery: deliveryView(updated) });
    },
  }),
];

async function findSubscription(ctx: ApiContext, id: string): Promise<WebhookSubscription> {
  const subscription = await ctx.db.webhookSubscription.findUnique({ where: { id } });
  if (!subscription || subscription.deletedAt) throw new AppError('not_found', `No webhook subscription ${id}`);
  return subscription;
}
