import { condition, continueAsNew, defineSignal, isCancellation, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { DeliveryRef } from '../lib/outbound-webhooks.js';
import { DELIVERIES_PENDING_SIGNAL } from '../processes/event-messages.js';

export const deliveriesPendingSignal = defineSignal(DELIVERIES_PENDING_SIGNAL);

const queue = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** 1 s, 3 s, 9 s … capped at an hour: fifteen attempts spread over about a day and a half. */
const sender = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 3, maximumInterval: '1h', maximumAttempts: 15 },
});

/** How long to wait for the run's next event before ending; the next event starts a new execution. */
const IDLE_BEFORE_EXIT = '5 minutes';

/**
 * Delivers one subscription's events for one run, one at a time in audit order, so a receiver sees a run's events
 * in the order they happened even while it is failing. A delivery that exhausts its retries is marked failed and
 * the next one goes out: one bad event never stalls the rest for good.
 */
export async function webhookDeliveryWorkflow(ref: DeliveryRef): Promise<void> {
  let woken = true;
  setHandler(deliveriesPendingSignal, () => {
    woken = true;
  });
  for (;;) {
    woken = false;
    const batch = await queue.nextPendingDeliveries({ ...ref, limit: 20 });
    for (const deliveryId of batch) {
      try {
        await sender.deliverWebhook({ deliveryId });
      } catch (error) {
        // A cancelled delivery workflow stops; only a delivery that ran out of retries is marked failed.
        if (isCancellation(error)) throw error;
        await queue.markDeliveryFailed({ deliveryId });
      }
    }
    if (batch.length > 0) {
      if (workflowInfo().continueAsNewSuggested) await continueAsNew<typeof webhookDeliveryWorkflow>(ref);
      continue;
    }
    if (!(await condition(() => woken, IDLE_BEFORE_EXIT))) return;
  }
}
