import { ApplicationFailure } from '@temporalio/activity';
import { createEgressPolicy, urlForLogs } from '../lib/egress.js';
import { attemptDelivery, type DeliveryRef } from '../lib/outbound-webhooks.js';
import type { ActivityDeps } from './deps.js';
import { FailureType } from '../processes/failures.js';

export function createWebhookActivities(deps: ActivityDeps) {
  // Without a policy from the worker's config nothing but public addresses is reachable.
  const egress = deps.egress ?? createEgressPolicy();
  return {
    /** The run's undelivered events for one subscription, oldest audit entry first. */
    async nextPendingDeliveries(request: DeliveryRef & { limit: number }): Promise<string[]> {
      const rows = await deps.db.webhookDelivery.findMany({
        where: { subscriptionId: request.subscriptionId, runId: request.runId, status: 'pending' },
        orderBy: { sequence: 'asc' },
        take: request.limit,
        select: { id: true },
      });
      return rows.map((r) => r.id);
    },

    /** One attempt; a failure is retried by Temporal with backoff (honouring Retry-After), each attempt logged. */
    async deliverWebhook(request: { deliveryId: string }): Promise<void> {
      const delivery = await deps.db.webhookDelivery.findUniqueOrThrow({ where: { id: request.deliveryId }, include: { subscription: true } });
      if (delivery.status !== 'pending') return;
      if (delivery.subscription.deletedAt) {
        await deps.db.webhookDelivery.update({ where: { id: delivery.id }, data: { status: 'failed', lastError: 'the subscription was deleted' } });
        return;
      }
      const result = await attemptDelivery(deps.db, delivery.id, 'automatic', egress);
      if (result.ok) return;
      // The message reaches the worker's logs and Temporal's history: no query string or credentials of the URL.
      throw ApplicationFailure.create({
        message: `Webhook ${delivery.eventType} to ${urlForLogs(delivery.subscription.url)}: ${result.error}`,
        type: result.refused ? FailureType.webhookDestinationRefused : FailureType.webhookDeliveryFailed,
        // A refused destination stays refused: the delivery is marked failed at once instead of retried for a day.
        nonRetryable: result.refused === true,
        nextRetryDelay: result.retryAfterSeconds ? `${result.retryAfterSeconds}s` : undefined,
      });
    },

    /** After the last retry: the delivery stays in the log as failed, for a manual redelivery. */
    async markDeliveryFailed(request: { deliveryId: string }): Promise<void> {
      await deps.db.webhookDelivery.updateMany({ where: { id: request.deliveryId, status: 'pending' }, data: { status: 'failed' } });
    },
  };
}
