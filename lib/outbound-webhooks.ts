import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DELIVERIES_PENDING_SIGNAL, DELIVERY_WORKFLOW_TYPE } from '../processes/event-messages.js';
import { chainOf, entryHash, GENESIS_HASH, normaliseDetails } from './audit-chain.js';
import { Prisma, sqlTimestamp } from './db.js';
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

/** A chain's last entry: its seq and hash (null before the first chained entry). */
interface ChainHead {
  seq: number;
  hash: string | null;
}

/**
 * The chains each open transaction holds the lock of, with their last entry as that transaction left it: a second
 * entry in the same transaction and chain needs neither the lock nor the read again (nobody else can append).
 * Keyed by the transaction's client, so it goes with the transaction.
 */
const chainsHeld = new WeakMap<Prisma.TransactionClient, Map<string, ChainHead | null>>();

/**
 * The chains `tx` holds; undefined outside a transaction (a client with a `$transaction` of its own), where every
 * statement commits on its own and nothing is held.
 */
function chainsHeldBy(tx: Prisma.TransactionClient): Map<string, ChainHead | null> | undefined {
  if ('$transaction' in tx) return undefined;
  let held = chainsHeld.get(tx);
  if (!held) chainsHeld.set(tx, (held = new Map()));
  return held;
}

/**
 * The caller inserted this run in its transaction: until the commit nobody else can append to its chain (an entry
 * for the run needs the run's row, which is not visible yet, and nobody knows its id), so its first entry needs
 * neither the lock nor the read. Should the chain have entries after all, the (chain, seq) key refuses the insert.
 */
export function chainIsNew(tx: Prisma.TransactionClient, runId: string): void {
  chainsHeldBy(tx)?.set(chainOf(runId), null);
}

/**
 * Takes the chain's lock for the rest of the transaction (one writer per chain: two concurrent writers would both
 * read the same last entry and fork it), then reads the chain's last entry and any entry already written under
 * this key (a retry). Two statements: the read must come after the lock, so that it sees what the previous holder
 * committed (READ COMMITTED takes a statement's snapshot when the statement starts).
 */
async function lockChain(tx: Prisma.TransactionClient, chain: string, eventKey: string | null): Promise<{ head: ChainHead | null; existing: bigint | null }> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${chain}, 0))`;
  const [found] = await tx.$queryRaw<Array<{ existing: bigint | null; seq: number | null; hash: string | null }>>`
    SELECT (SELECT id FROM "AuditEntry" WHERE "eventKey" = ${eventKey}::text) AS existing, last.seq, last.hash
    FROM (SELECT 1) AS one
    LEFT JOIN (SELECT seq, hash FROM "AuditEntry" WHERE chain = ${chain} ORDER BY seq DESC LIMIT 1) AS last ON true`;
  return { head: found?.seq != null ? { seq: found.seq, hash: found.hash } : null, existing: found?.existing ?? null };
}

/** A retried write found its entry: the deliveries its first attempt queued may not have been woken. */
async function alreadyWritten(tx: Prisma.TransactionClient, entryId: bigint): Promise<{ inserted: false; wake: DeliveryRef[] }> {
  const pending = await tx.webhookDelivery.findMany({ where: { sequence: entryId, status: 'pending' }, select: { subscriptionId: true, runId: true } });
  return { inserted: false, wake: pending };
}

/**
 * Writes an audit entry and, in the same transaction, one pending delivery per subscription that wants it: the
 * audit log doubles as the outbox, so an event is never recorded without its deliveries or the other way round.
 * The entry is appended to its chain (the run, or `org`) with the next seq and its hash (lib/audit-chain.ts).
 * Returns whether it was new (a retried activity finds it written) and the (subscription, run) pairs to wake.
 * Every writer of AuditEntry goes through here; the transaction must be READ COMMITTED (Prisma's default), so the
 * chain's last entry read after the lock is the one the previous holder committed.
 *
 * Round trips: the lock and the read for a transaction's first entry in a chain, then one statement per entry (the
 * insert, returning the subscriptions that want it); a delivery row insert only when some subscription does.
 */
export async function insertAuditEntry(tx: Prisma.TransactionClient, row: AuditRow): Promise<{ inserted: boolean; wake: DeliveryRef[] }> {
  const chain = chainOf(row.runId);
  const eventKey = row.eventKey ?? null;
  const held = chainsHeldBy(tx);
  let head: ChainHead | null;
  if (held?.has(chain)) {
    head = held.get(chain)!;
  } else {
    const locked = await lockChain(tx, chain, eventKey);
    held?.set(chain, locked.head);
    if (locked.existing != null) return alreadyWritten(tx, locked.existing);
    head = locked.head;
  }
  const fields = {
    chain,
    seq: (head?.seq ?? 0) + 1,
    eventKey,
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
    details: normaliseDetails(row.details),
  };
  const prevHash = head?.hash ?? GENESIS_HASH;
  const hash = entryHash(prevHash, fields);
  const eventType = fields.runId ? eventTypeByAuditAction[fields.action] : undefined;
  // The insert and, for a lifecycle event, the run's subscriptions that want it, in one statement. A key written
  // before (a later entry of a retried transaction whose first one was new) inserts nothing and returns no row.
  const returned = eventType
    ? Prisma.sql`SELECT entry.id, s.id AS "subscriptionId", r.process FROM entry
        LEFT JOIN "Run" r ON r.id = entry."runId"
        LEFT JOIN "WebhookSubscription" s ON r.id IS NOT NULL AND s."deletedAt" IS NULL
          AND (${eventType}::text = ANY(s."eventTypes") OR '*' = ANY(s."eventTypes"))
          AND (s.process IS NULL OR s.process = r.process)
        ORDER BY s."createdAt", s.id`
    : Prisma.sql`SELECT entry.id, NULL AS "subscriptionId", NULL AS process FROM entry`;
  const inserted = await tx.$queryRaw<Array<{ id: bigint; subscriptionId: string | null; process: string | null }>>`
    WITH entry AS (
      INSERT INTO "AuditEntry" ("eventKey", "runId", chain, seq, "prevHash", hash, at, action, actor, "onBehalfOf", step, ip, "userAgent", details)
      VALUES (${fields.eventKey}, ${fields.runId}, ${chain}, ${fields.seq}::int, ${prevHash}, ${hash},
        ${sqlTimestamp(fields.at)}, ${fields.action}, ${fields.actor}, ${fields.onBehalfOf},
        ${fields.step}, ${fields.ip}, ${fields.userAgent}, ${JSON.stringify(fields.details)}::jsonb)
      ON CONFLICT ("eventKey") DO NOTHING
      RETURNING id, "runId"
    )
    ${returned}`;
  if (inserted.length === 0) {
    const existing = await tx.auditEntry.findUniqueOrThrow({ where: { eventKey: eventKey! }, select: { id: true } });
    return alreadyWritten(tx, existing.id);
  }
  held?.set(chain, { seq: fields.seq, hash });
  const entryId = inserted[0]!.id;
  const subscriptions = inserted.flatMap((s) => (s.subscriptionId ? [{ id: s.subscriptionId, process: s.process! }] : []));
  if (!eventType || subscriptions.length === 0) return { inserted: true, wake: [] };
  const runId = fields.runId!;
  const payload: LifecycleEventPayload = {
    type: eventType,
    timestamp: fields.at.toISOString(),
    data: {
      runId,
      process: subscriptions[0]!.process,
      status: fields.action.startsWith('run.') && fields.action !== 'run.started' ? fields.action.slice(4) : 'running',
      action: fields.action,
      step: fields.step,
      actor: fields.actor,
      onBehalfOf: fields.onBehalfOf,
      details: fields.details,
    },
  };
  await tx.webhookDelivery.createMany({
    data: subscriptions.map((s) => ({
      id: `dlv_${randomUUID()}`,
      subscriptionId: s.id,
      eventId: `evt_${entryId}`,
      eventType,
      runId,
      sequence: entryId,
      payload: payload as unknown as Prisma.InputJsonValue,
    })),
    skipDuplicates: true,
  });
  return { inserted: true, wake: subscriptions.map((s) => ({ subscriptionId: s.id, runId })) };
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
