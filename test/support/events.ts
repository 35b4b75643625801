import { randomUUID } from 'node:crypto';
import { signWebhook } from '../../lib/webhook-signature.js';
import type { Stack } from './stack.js';

/** One event as a source sends it: its webhook-id (the same on every delivery) and its body. */
export interface OutgoingEvent {
  webhookId: string;
  body: string;
}

export const buyer = { name: 'Alex Rivera', email: 'alex.rivera@example.com' };

export function erpEvent(type: string, data: Record<string, unknown>, webhookId = `msg_${randomUUID()}`): OutgoingEvent {
  return { webhookId, body: JSON.stringify({ type, data }) };
}

/** POST /events/:source, signed per Standard Webhooks with the stack's secret for that source. */
export async function sendEvent(stack: Stack, event: OutgoingEvent, source: keyof Stack['eventSecrets'] = 'erp') {
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(`${stack.apiUrl}/events/${source}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': event.webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(stack.eventSecrets[source], event.webhookId, timestamp, event.body),
    },
    body: event.body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** A deterministic shuffle, so a failure can be replayed. */
export function shuffled<T>(items: T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
