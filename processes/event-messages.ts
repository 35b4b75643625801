/**
 * The contract between the event router (api/event-routing.ts) and running workflows (workflows/event-inbox.ts):
 * an inbound event a run consumes arrives as this Update, with the event's id as the update id, so a repeated
 * delivery is applied once.
 */
export const APPLY_EVENT_UPDATE = 'applyEvent';

export interface InboundEventMessage {
  eventId: string;
  source: string;
  type: string;
  data: Record<string, unknown>;
  receivedAt: string;
}

export interface AppliedEvent {
  eventId: string;
  appliedAt: number;
}

/** The wake-up the outbound webhook outbox sends the workflow delivering one subscription's events for one run. */
export const DELIVERIES_PENDING_SIGNAL = 'deliveriesPending';
export const DELIVERY_WORKFLOW_TYPE = 'webhookDeliveryWorkflow';

/** `${source}:${type}`, the name routes and inboxes use for an event kind. */
export function eventKind(source: string, type: string): string {
  return `${source}:${type}`;
}
