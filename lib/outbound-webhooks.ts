import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DELIVERIES_PENDING_SIGNAL, DELIVERY_WORKFLOW_TYPE } from '../processes/event-messages.js';
import { chainOf, entryHash, GENESIS_HASH, normaliseDetails } from './audit-chain.js';
import { Prisma } from './db.js';
import { EGRESS_REFUSED_MESSAGE, EgressRefusedError, EgressTimeoutError, postThroughEgress, type EgressPolicy } from './egress.js';
import { signWebhook } from './webhook-signature.js';

/** What subscribers can ask for. Every one is also an audit entry, which is where deliveries come from. */
export const lifecycleEventTypes = [
  'run.started',
  'approval.requested',
  'approval.decided',
  'run.completed',
  'run.failed',
  'run.cancelled',
] as const;
export type LifecycleEventType = (typeof lifecycleEventTypes)[number];

/** Audit actions that are lifecycle events. Rejected and expired runs ended normally: subscribers see run.completed with the status. */
const eventTypeByAuditAction: Record<string, LifecycleEventType> = {
  'run.started': 'run.started',
  'approval.requested': 'approval.requested',
  'approval.escalated': 'approval.requested',
  'approval.decided': 'approval.decided',
  'run.completed': 'run.completed',
  'run.rejected': 'run.completed',
  'run.expired': 'run.completed',
  'run.failed': 'run.failed',
  'run.cancelled': 'run.cancelled',
};

export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/** Names the Temporal workflow that delivers one subscription's events for one run, in order. */
export function deliveryWorkflowId(subscriptionId: string, runId: string): string {
  return `webhooks:${subscriptionId}:${runId}`;
}


export interface DeliveryRef {
  subscriptionId: string;
  runId: string;
}

/** The body a subscriber receives. */
export interface LifecycleEventPayload {
  type: LifecycleEventType;
  timestamp: string;
  data: {
    runId: string;
    process: string;
    status: string;
    action: string;
    step: string | null;
    actor: string;
    onBehalfOf: string | null;
    details: unknown;
  };
}

/** An entry as callers give it: chain, seq and hashes are insertAuditEntry's to set. */
type AuditRow = Omit<Prisma.AuditEntryUncheckedCreateInput, 'id' | 'chain' | 'seq' | 'prevHash' | 'hash' | 'details'> & {
  details?: Prisma.InputJsonValue;
};

/**
 * Writes an audit entry and, in the same transaction, one pending delivery per subscription that wants it: the
 * audit log doubles as the outbox, so an event is never recorded without its deliveries or the other way round.
 * The entry is appended to its chain (the run, or `org`) with the next seq and its hash (lib/audit-chain.ts).
 * Returns whether it was new (a retried activity finds it written) and the (subscription, run) pairs to wake.
 * Every writer of AuditEntry goes through here; the transaction must be READ COMMITTED (Prisma's default), so the
 * chain's last entry read after the lock is the one the previous holder committed.
 */
export async function insertAuditEntry(tx: Prisma.TransactionClient, row: AuditRow): Promise<{ inserted: boolean; wake: DeliveryRef[] }> {
  const chain = chainOf(row.runId);
  // One writer per chain until this transaction ends: two concurrent writers would both read the same last entry
  // and fork the chain. Taken before the eventKey check so a retry waiting here sees its first attempt committed.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${chain}, 0))`;
  // One round trip for both: an entry already written under this key (a retry), and the chain's last entry.
  const [found] = await tx.$queryRaw<Array<{ existing: bigint | null; seq: number | null; hash: string | null }>>`
    SELECT (SELECT id FROM "AuditEntry" WHERE "eventKey" = ${row.eventKey ?? null}::text) AS existing, last.seq, last.hash
    FROM (SELECT 1) AS one
    LEFT JOIN (SELECT seq, hash FROM "AuditEntry" WHERE chain = ${chain} ORDER BY seq DESC LIMIT 1) AS last ON true`;
  if (found?.existing != null) {
    // A retried activity: its first attempt may have committed and then died before waking the deliveries.
    const pending = await tx.webhookDelivery.findMany({ where: { sequence: found.existing, status: 'pending' }, select: { subscriptionId: true, runId: true } });
    return { inserted: false, wake: pending };
  }
  const last = found?.seq != null ? { seq: found.seq, hash: found.hash } : null;
  const fields = {
    chain,
    seq: (last?.seq ?? 0) + 1,
    eventKey: row.eventKey ?? null,
    runId: row.runId ?? null,
    // Fixed here, not by the column default, so the hash covers exactly the stored value (millisecond precision).
    at: row.at === undefined ? new Date() : new Date(row.at),
    action: row.action,
    actor: row.actor,
    onBehalfOf: row.onBehalfOf ?? null,
    step: row.step ?? null,
    ip: row.ip ?? null,
    userAgent: row.userAgent ?? null,
    // Stored as hashed: what jsonb gives back is this plain JSON (key order aside, which the hash ignores).
    details: normaliseDetails(row.details) as Prisma.InputJsonValue,
  };
  const prevHash = last?.hash ?? GENESIS_HASH;
  const entry = await tx.auditEntry.create({ data: { ...fields, prevHash, hash: entryHash(prevHash, fields) } });
  const eventType = eventTypeByAuditAction[entry.action];
  if (!eventType || !entry.runId) return { inserted: true, wake: [] };
  // The run's process and the subscriptions that want this event for it, in one round trip (none: nothing to deliver).
  const subscriptions = await tx.$queryRaw<Array<{ id: string; process: string }>>`
    SELECT s.id, r.process FROM "Run" r
    JOIN "WebhookSubscription" s ON s."deletedAt" IS NULL
      AND (${eventType}::text = ANY(s."eventTypes") OR '*' = ANY(s."eventTypes"))
      AND (s.process IS NULL OR s.process = r.process)
    WHERE r.id = ${entry.runId}
    ORDER BY s."createdAt", s.id`;
  if (subscriptions.length === 0) return { inserted: true, wake: [] };
  const run = { process: subscriptions[0]!.process };
  const payload: LifecycleEventPayload = {
    type: eventType,
    timestamp: entry.at.toISOString(),
    data: {
      runId: entry.runId,
      process: run.process,
      status: entry.action.startsWith('run.') && entry.action !== 'run.started' ? entry.action.slice(4) : 'running',
      action: entry.action,
      step: entry.step,
      actor: entry.actor,
      onBehalfOf: entry.onBehalfOf,
      details: entry.details,
    },
  };
  await tx.webhookDelivery.createMany({
    data: subscriptions.map((s) => ({
      id: `dlv_${randomUUID()}`,
      subscriptionId: s.id,
      eventId: `evt_${entry.id}`,
      eventType,
      runId: entry.runId!,
      sequence: entry.id,
      payload: payload as unknown as Prisma.InputJsonValue,
    })),
    skipDuplicates: true,
  });
  return { inserted: true, wake: subscriptions.map((s) => ({ subscriptionId: s.id, runId: entry.runId! })) };
}

/**
 * Wakes (or starts) the delivery workflow of each (subscription, run). The database is the queue; the signal only
 * says "look again", so a lost signal delays a delivery until the next sweep but never loses it.
 */
export async function wakeDeliveryWorkflows(temporal: Client, taskQueue: string, refs: DeliveryRef[]): Promise<void> {
  const unique = new Map(refs.map((r) => [deliveryWorkflowId(r.subscriptionId, r.runId), r]));
  await Promise.all(
    [...unique].map(([workflowId, ref]) =>
      temporal.workflow.signalWithStart(DELIVERY_WORKFLOW_TYPE, {
        workflowId,
        taskQueue,
        args: [ref],
        signal: DELIVERIES_PENDING_SIGNAL,
        signalArgs: [],
      }),
    ),
  );
}

/** Pending deliveries that have waited longer than `olderThanMs` without an attempt: their wake-up was lost. */
export async function staleDeliveryRefs(db: { webhookDelivery: Prisma.TransactionClient['webhookDelivery'] }, olderThanMs: number): Promise<DeliveryRef[]> {
  const rows = await db.webhookDelivery.findMany({
    where: { status: 'pending', attempts: 0, createdAt: { lt: new Date(Date.now() - olderThanMs) } },
    select: { subscriptionId: true, runId: true },
    distinct: ['subscriptionId', 'runId'],
    take: 500,
  });
  return rows;
}

export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  retryAfterSeconds?: number;
  /** The egress policy refused the destination: retrying cannot help until an operator allows the host. */
  refused?: boolean;
}

/**
 * One signed POST of a delivery through the egress policy, logged as an attempt. The webhook-id is the event's id,
 * the same on every attempt and redelivery, so a receiver can drop what it already processed. A refused destination
 * is logged as "refused by egress policy" with no status and no duration: nothing that tells an internal port that
 * answers from one that does not.
 */
export async function attemptDelivery(
  db: { webhookDelivery: Prisma.TransactionClient['webhookDelivery']; webhookAttempt: Prisma.TransactionClient['webhookAttempt'] },
  deliveryId: string,
  trigger: 'automatic' | 'manual',
  egress: EgressPolicy,
  timeoutMs = 10_000,
): Promise<AttemptResult> {
  const delivery = await db.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId }, include: { subscription: true } });
  const body = JSON.stringify(delivery.payload);
  const timestamp = Math.floor(Date.now() / 1000);
  const started = Date.now();
  let result: AttemptResult;
  try {
    const response = await postThroughEgress(egress, delivery.subscription.url, {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Opsflow-Webhooks/1',
        'webhook-id': delivery.eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(delivery.subscription.secret, delivery.eventId, timestamp, body),
      },
      body,
      timeoutMs,
    });
    const retryAfter = Number(response.headers['retry-after']);
    const ok = response.status >= 200 && response.status < 300;
    result = {
      ok,
      statusCode: response.status,
      error: ok ? null : `receiver answered ${response.status}`,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
    };
  } catch (error) {
    if (error instanceof EgressRefusedError) result = { ok: false, statusCode: null, error: EGRESS_REFUSED_MESSAGE, refused: true };
    else if (error instanceof EgressTimeoutError) result = { ok: false, statusCode: null, error: error.message };
    else result = { ok: false, statusCode: null, error: `could not connect: ${(error as Error).message}` };
  }
  const attempts = delivery.attempts + 1;
  await db.webhookAttempt.create({
    data: { deliveryId, attempt: attempts, statusCode: result.statusCode, error: result.error, durationMs: result.refused ? 0 : Date.now() - started, trigger },
  });
  await db.webhookDelivery.update({
    where: { id: deliveryId },
    data: {
      attempts,
      lastStatusCode: result.statusCode,
      lastError: result.error,
      ...(result.ok ? { status: 'delivered', deliveredAt: new Date() } : {}),
    },
  });
  return result;
}
