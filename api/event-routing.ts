import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { Prisma } from '../lib/db.js';
import { fieldIssues } from '../lib/errors.js';
import type { InboundEvent } from '../lib/generated/prisma/client.js';
import { chainIsNew, insertAuditEntry, type DeliveryRef } from '../lib/outbound-webhooks.js';
import { APPLY_EVENT_UPDATE, type AppliedEvent, type InboundEventMessage } from '../processes/event-messages.js';
import { processes, type ProcessDefinition } from '../processes/index.js';
import type { EventConsumeRoute, EventStartRoute } from '../processes/types.js';
import type { ApiContext } from './context.js';
import { resolveRunPolicy } from '../lib/policy-store.js';
import { recordFactsVersion, runRow, runStartedAudit } from '../lib/run-record.js';
import { NOT_STARTED, runArgsOf, startWorkflow, wakeWebhooks } from './run-service.js';
import { DEFAULT_EVENT_HOLD_WINDOW } from '../lib/config.js';
import { durationMs } from '../processes/duration.js';

type Outcome = Pick<InboundEvent, 'status' | 'runId' | 'statusReason'> & { issues?: Prisma.InputJsonValue };

/**
 * Statuses routing may still change: `received` (not answered yet) and `held` (its run has not started). Every
 * other status is the event's final outcome; a later delivery of its webhook-id gets it as the duplicate answer.
 */
export const OPEN_EVENT_STATUSES = ['received', 'held'] as const;

export function isOpenEvent(event: Pick<InboundEvent, 'status'>): boolean {
  return (OPEN_EVENT_STATUSES as readonly string[]).includes(event.status);
}

/** Which processes start on, and which consume, an event of this source and type (declared in processes/). */
export function routesFor(source: string, type: string) {
  const matches = (route: { source: string; type: string }) => route.source === source && route.type === type;
  const starters: Array<{ process: ProcessDefinition; route: EventStartRoute }> = [];
  const consumers: Array<{ process: ProcessDefinition; route: EventConsumeRoute }> = [];
  for (const process of processes) {
    for (const route of process.events?.starts ?? []) if (matches(route)) starters.push({ process, route });
    for (const route of process.events?.consumes ?? []) if (matches(route)) consumers.push({ process, route });
  }
  return { starters, consumers };
}

function keyOf(route: { correlationKey(data: Record<string, unknown>): unknown }, data: Record<string, unknown>): string | undefined {
  const key = route.correlationKey(data);
  return typeof key === 'string' && key.trim() ? key.trim() : typeof key === 'number' ? String(key) : undefined;
}

/** A readable, stable workflow id: one run per process and key, which is what makes a repeated start a no-op. */
export function runIdForKey(processKey: string, correlationKey: string): string {
  const slug = correlationKey.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
  return `${processKey}-key-${slug}`;
}

function message(event: InboundEvent): InboundEventMessage {
  return { eventId: event.id, source: event.source, type: event.type, data: event.payload as Record<string, unknown>, receivedAt: event.receivedAt.toISOString() };
}

/**
 * Records an event's outcome, once: a concurrent delivery of the same webhook-id (or the sweep) may have settled it
 * first, and then that answer stands (and the `event.applied` audit entry is written by the one that settled it).
 */
async function settle(ctx: ApiContext, event: InboundEvent, outcome: Outcome): Promise<InboundEvent> {
  const { issues, ...rest } = outcome;
  let wake: DeliveryRef[] = [];
  const settled = await ctx.db.$transaction(async (tx) => {
    const { count } = await tx.inboundEvent.updateMany({
      where: { id: event.id, status: { in: [...OPEN_EVENT_STATUSES] } },
      data: { ...rest, ...(issues ? { issues } : {}), routedAt: new Date() },
    });
    if (count === 1 && outcome.runId && outcome.status === 'applied') {
      wake = (
        await insertAuditEntry(tx, {
          eventKey: `${outcome.runId}:event:${event.id}`,
          runId: outcome.runId,
          action: 'event.applied',
          actor: `source:${event.source}`,
          details: { eventId: event.id, type: event.type, webhookId: event.webhookId },
        })
      ).wake;
    }
    return tx.inboundEvent.findUniqueOrThrow({ where: { id: event.id } });
  });
  await wakeWebhooks(ctx, wake);
  return settled;
}

type Delivery = { kind: 'applied' } | { kind: 'refused'; reason: string } | { kind: 'no_answer'; notFound?: boolean };

/**
 * The run's own answer to the event. The Update id is the event id, so asking again returns the first answer:
 * Temporal keeps a completed Update's result in the run's history, also after the run closed (verified on the
 * dev server 1.29: executeUpdate with a known id on a completed workflow returns that result). An id the run never
 * accepted, sent to a closed run, is refused as "already completed".
 */
async function deliverToRun(ctx: ApiContext, runId: string, event: InboundEvent, waitMs: number): Promise<Delivery> {
  try {
    await ctx.temporal.withDeadline(Date.now() + waitMs, () =>
      ctx.temporal.workflow.getHandle(runId).executeUpdate<AppliedEvent, [InboundEventMessage]>(APPLY_EVENT_UPDATE, { args: [message(event)], updateId: event.id }),
    );
    return { kind: 'applied' };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) {
      return { kind: 'refused', reason: error.cause instanceof ApplicationFailure ? error.cause.message : 'the run refused it' };
    }
    if (/already completed/i.test((error as Error).message)) return { kind: 'refused', reason: 'the run has ended' };
    // Not found: the run is recorded but its workflow is still being started; try again shortly.
    if (error instanceof WorkflowNotFoundError) return { kind: 'no_answer', notFound: true };
    if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || (error as { code?: number }).code === 4) return { kind: 'no_answer' };
    throw error;
  }
}

/** Why a closed run the Update did not find took no event: ended (Temporal still describes it), or past retention. */
async function endedRunReason(ctx: ApiContext, runId: string): Promise<string> {
  try {
    await ctx.temporal.workflow.getHandle(runId).describe();
    return 'the run has ended';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'the run has ended and its history is no longer kept';
    throw error;
  }
}

type RunRef = { id: string; status: string };
type RunsAnswer = { kind: 'applied'; runId: string } | { kind: 'refused'; runId: string; reason: string } | { kind: 'no_answer' };

/** Every run of the process for this key, running or closed: a closed run still says whether it took the event. */
function runsForKey(ctx: ApiContext, processKey: string, key: string): Promise<RunRef[]> {
  return ctx.db.run.findMany({ where: { process: processKey, OR: [{ correlationKey: key }, { id: key }] }, select: { id: true, status: true }, orderBy: { startedAt: 'asc' } });
}

async function deliverToRuns(ctx: ApiContext, runs: RunRef[], event: InboundEvent, waitMs: number): Promise<RunsAnswer> {
  const refusals: string[] = [];
  let refusedBy = '';
  for (const run of runs) {
    const delivery = await deliverToRun(ctx, run.id, event, waitMs);
    if (delivery.kind === 'applied') return { kind: 'applied', runId: run.id };
    // A closed run cannot take it either: Temporal answers "not found" when the Update raced the run's end, or when the
    // run is past the namespace's retention; which one, the run's description says.
    const closed = delivery.kind === 'no_answer' && delivery.notFound && run.status !== 'running' && run.status !== NOT_STARTED;
    if (delivery.kind === 'no_answer' && !closed) return { kind: 'no_answer' };
    refusals.push(`${run.id}: ${delivery.kind === 'refused' ? delivery.reason : await endedRunReason(ctx, run.id)}`);
    refusedBy = run.id;
  }
  return { kind: 'refused', runId: refusedBy, reason: refusals.join('; ') };
}

function outcomeOf(answer: Exclude<RunsAnswer, { kind: 'no_answer' }>): Outcome {
  return answer.kind === 'applied' ? { status: 'applied', runId: answer.runId, statusReason: null } : { status: 'unmatched', runId: answer.runId, statusReason: answer.reason };
}

function holdWindowMs(ctx: ApiContext): number {
  return ctx.config.EVENT_HOLD_WINDOW ?? durationMs(DEFAULT_EVENT_HOLD_WINDOW);
}

/** Keeps an event for the run of `processKey` with this key, until it starts or the hold window passes. */
async function hold(ctx: ApiContext, event: InboundEvent, processKey: string, key: string): Promise<InboundEvent> {
  if (event.status === 'held' && event.heldFor === processKey && event.correlationKey === key) return event;
  const holdUntil = new Date(Date.now() + holdWindowMs(ctx));
  await ctx.db.inboundEvent.updateMany({
    where: { id: event.id, status: { in: [...OPEN_EVENT_STATUSES] } },
    data: { status: 'held', heldFor: processKey, correlationKey: key, holdUntil, statusReason: `waiting for the ${processKey} run with key ${key} to start`, routedAt: new Date() },
  });
  return ctx.db.inboundEvent.findUniqueOrThrow({ where: { id: event.id } });
}

/**
 * Applies the events held for the run of `processKey` with this key, oldest first, each only after the one before
 * it was answered, so the run sees them in the order they were received. Stops at the first event the run does not
 * answer in time (the sweep carries on from there). Safe to run concurrently: the Update id is the event id.
 */
export async function applyHeldEvents(ctx: ApiContext, processKey: string, key: string, deadline = Date.now() + 10_000): Promise<void> {
  const runs = await runsForKey(ctx, processKey, key);
  if (runs.length === 0) return;
  for (;;) {
    const next = await ctx.db.inboundEvent.findFirst({ where: { status: 'held', heldFor: processKey, correlationKey: key }, orderBy: [{ receivedAt: 'asc' }, { id: 'asc' }] });
    const remaining = deadline - Date.now();
    if (!next || remaining <= 0) return;
    const answer = await deliverToRuns(ctx, runs, next, remaining);
    if (answer.kind === 'no_answer') return;
    await settle(ctx, next, outcomeOf(answer));
  }
}

/**
 * After a run's workflow was started (by an event or over the API): the events held for it, by its correlation key
 * or its run id, go to it now. In the background, so the start answers at once; the event sweep finishes anything
 * this does not (and covers runs started elsewhere, such as by a schedule).
 */
export function applyHeldEventsSoon(ctx: ApiContext, processKey: string, keys: string[]): void {
  for (const key of new Set(keys)) {
    void applyHeldEvents(ctx, processKey, key).catch((error: unknown) => ctx.logger.warn({ err: error, process: processKey, key }, 'could not apply held events yet; the sweep will'));
  }
}

/** Another event for this key is held and not yet applied: this one queues behind it, to keep the order. */
async function heldAhead(ctx: ApiContext, event: InboundEvent, processKey: string, key: string): Promise<boolean> {
  if (event.status === 'held') return true;
  return (await ctx.db.inboundEvent.findFirst({ where: { status: 'held', heldFor: processKey, correlationKey: key, id: { not: event.id } }, select: { id: true } })) !== null;
}

/** Holds the event, then drains the key's queue, and answers with the event as it stands then. */
async function queueBehindHeld(ctx: ApiContext, event: InboundEvent, processKey: string, key: string, waitMs: number): Promise<InboundEvent> {
  await hold(ctx, event, processKey, key);
  await applyHeldEvents(ctx, processKey, key, Date.now() + waitMs);
  return ctx.db.inboundEvent.findUniqueOrThrow({ where: { id: event.id } });
}

/**
 * Sends a recorded event where the processes say it goes: to the runs that consume it (matched by correlation key),
 * else to a new run when a process starts on it. An event a process consumes whose run does not exist yet is held
 * and applied when that run starts; anything else stays visible as unmatched with the reason. Safe to repeat: the
 * run is keyed by correlation key and the Update by event id. Returns the event as settled, or still `received`
 * (or `held`) when a run did not answer in time (the sweep, or the next delivery, tries again).
 */
export async function routeEvent(ctx: ApiContext, event: InboundEvent, waitMs = 5_000): Promise<InboundEvent> {
  const data = event.payload as Record<string, unknown>;
  const { starters, consumers } = routesFor(event.source, event.type);
  if (starters.length === 0 && consumers.length === 0) {
    return settle(ctx, event, { status: 'unmatched', runId: null, statusReason: `no process reacts to ${event.type} from ${event.source}` });
  }

  const reasons: string[] = [];
  let refusedBy: string | null = null;
  let waitFor: { processKey: string; key: string } | undefined;
  for (const { process, route } of consumers) {
    const key = keyOf(route, data);
    if (!key) {
      reasons.push(`${process.key}: the event carries no correlation key`);
      continue;
    }
    // A run recorded but not started yet (its start may still fail) is not there yet: the event waits for it.
    const runs = (await runsForKey(ctx, process.key, key)).filter((run) => run.status !== NOT_STARTED);
    if (runs.length === 0) {
      waitFor ??= { processKey: process.key, key };
      continue;
    }
    if (await heldAhead(ctx, event, process.key, key)) return queueBehindHeld(ctx, event, process.key, key, waitMs);
    const answer = await deliverToRuns(ctx, runs, event, waitMs);
    if (answer.kind === 'applied') return settle(ctx, event, outcomeOf(answer));
    if (answer.kind === 'no_answer') return event;
    reasons.push(answer.reason);
    refusedBy = answer.runId;
  }

  for (const { process, route } of starters) {
    const started = await startFromEvent(ctx, event, process, route, data);
    if (started) return started;
    reasons.push(`${process.key}: a run for this key already exists`);
  }

  if (waitFor) {
    const held = await hold(ctx, event, waitFor.processKey, waitFor.key);
    // Held first, then looked again: a run recorded meanwhile may have looked for held events before this one was.
    if ((await runsForKey(ctx, waitFor.processKey, waitFor.key)).length === 0) return held;
    return queueBehindHeld(ctx, held, waitFor.processKey, waitFor.key, waitMs);
  }
  return settle(ctx, event, { status: 'unmatched', runId: refusedBy, statusReason: reasons.join('; ') });
}

/**
 * An event an operator records for one run over the API (e.g. an offer accepted by phone): no correlation key
 * needed, the same Update and the same record as a routed event.
 */
export async function applyEventToRun(ctx: ApiContext, event: InboundEvent, runId: string): Promise<InboundEvent> {
  const delivery = await deliverToRun(ctx, runId, event, 10_000);
  if (delivery.kind === 'applied') return settle(ctx, event, { status: 'applied', runId, statusReason: null });
  if (delivery.kind === 'no_answer') return event;
  return settle(ctx, event, { status: 'unmatched', runId, statusReason: `${runId}: ${delivery.reason}` });
}

/**
 * Records the run an event starts, with the event pointing at it, in one transaction. Null when another event
 * already started the run for this key; no wake-ups when this same event (an earlier or concurrent delivery of its
 * webhook-id) recorded it.
 */
async function recordRunForEvent(
  ctx: ApiContext,
  event: InboundEvent,
  process: ProcessDefinition,
  runId: string,
  key: string,
  input: unknown,
): Promise<{ wake: DeliveryRef[]; recordedNow: boolean } | null> {
  const resolved = await resolveRunPolicy(ctx.db, process, undefined, ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);
  const row = runRow(process, runId, input, {}, resolved, { trigger: 'event', correlationKey: key });
  try {
    return await ctx.db.$transaction(async (tx) => {
      await tx.run.create({ data: row });
      chainIsNew(tx, runId);
      await tx.inboundEvent.update({ where: { id: event.id }, data: { runId } });
      await recordFactsVersion(tx, process, runId, input);
      const audit = runStartedAudit(runId, `source:${event.source}`, row.requesterEmail, resolved, {}, { eventId: event.id, type: event.type, correlationKey: key });
      return { wake: (await insertAuditEntry(tx, audit)).wake, recordedNow: true };
    });
  } catch (error) {
    if (!(error instanceof Prisma.PrismaClientKnownRequestError) || error.code !== 'P2002') throw error;
    const recorded = await ctx.db.inboundEvent.findUniqueOrThrow({ where: { id: event.id }, select: { runId: true } });
    return recorded.runId === runId ? { wake: [], recordedNow: false } : null;
  }
}

/** Returns null when another event already started the run for this key. */
async function startFromEvent(ctx: ApiContext, event: InboundEvent, process: ProcessDefinition, route: EventStartRoute, data: Record<string, unknown>): Promise<InboundEvent | null> {
  const key = keyOf(route, data);
  if (!key) return settle(ctx, event, { status: 'invalid', runId: null, statusReason: `${process.key} needs a correlation key in the event data` });
  const parsed = process.inputSchema.safeParse(route.toInput(data));
  if (!parsed.success) {
    const issues = fieldIssues(parsed.error.issues, ['data']);
    return settle(ctx, event, { status: 'invalid', runId: null, statusReason: `the event cannot start ${process.key}`, issues: issues as unknown as Prisma.InputJsonValue });
  }
  const runId = runIdForKey(process.key, key);

  // A repeat of this event after the run was recorded but before its workflow started: just start it as recorded.
  const recorded = event.runId === runId ? { wake: [], recordedNow: false } : await recordRunForEvent(ctx, event, process, runId, key, parsed.data);
  if (recorded === null) return null;
  await startWorkflow(ctx, process, runId, runArgsOf(await ctx.db.run.findUniqueOrThrow({ where: { id: runId } })), key);
  await wakeWebhooks(ctx, recorded.wake);
  if (recorded.recordedNow) ctx.metrics?.runsStarted.inc({ process: process.key });
  return settle(ctx, event, { status: 'started', runId, statusReason: null });
}

/** Held events whose run exists now (started while their hold was being written, or elsewhere: a schedule). */
async function heldKeysWithRuns(ctx: ApiContext, limit: number): Promise<Array<{ heldFor: string; correlationKey: string }>> {
  return ctx.db.$queryRaw<Array<{ heldFor: string; correlationKey: string }>>`
    SELECT DISTINCT e."heldFor", e."correlationKey"
    FROM "InboundEvent" e
    JOIN "Run" r ON r.process = e."heldFor" AND (r."correlationKey" = e."correlationKey" OR r.id = e."correlationKey")
    WHERE e.status = 'held' AND r.status <> ${NOT_STARTED}
    LIMIT ${limit}`;
}

/** Held events whose window passed with no run for them: unmatched, with the reason. */
async function expireHeldEvents(ctx: ApiContext, limit: number): Promise<void> {
  const expired = await ctx.db.inboundEvent.findMany({ where: { status: 'held', holdUntil: { lt: new Date() } }, orderBy: { receivedAt: 'asc' }, take: limit });
  for (const event of expired) {
    // The run may have started since the last look: then it gets the event instead (the next sweep applies it).
    if ((await runsForKey(ctx, event.heldFor!, event.correlationKey!)).some((run) => run.status !== NOT_STARTED)) continue;
    await settle(ctx, event, {
      status: 'unmatched',
      runId: null,
      statusReason: `held until ${event.holdUntil!.toISOString()} (EVENT_HOLD_WINDOW) for a ${event.heldFor} run with key ${event.correlationKey}; none started`,
    });
  }
}

/**
 * One pass over events not settled yet: `received` ones nobody answered (a crash, a run that did not answer in
 * time, also when that run has closed since: it still says whether it took the event), held ones whose run exists,
 * and held ones whose window passed.
 */
export async function sweepEvents(ctx: ApiContext, olderThanMs: number): Promise<void> {
  const stale = await ctx.db.inboundEvent.findMany({
    where: { status: 'received', receivedAt: { lt: new Date(Date.now() - olderThanMs) } },
    orderBy: { receivedAt: 'asc' },
    take: 100,
  });
  for (const event of stale) {
    // Recorded by hand for one run (POST /runs/:id/events): it goes to that run, not by correlation key.
    if (event.webhookId.startsWith('api:') && event.runId) await applyEventToRun(ctx, event, event.runId);
    else await routeEvent(ctx, event);
  }
  for (const { heldFor, correlationKey } of await heldKeysWithRuns(ctx, 100)) await applyHeldEvents(ctx, heldFor, correlationKey);
  await expireHeldEvents(ctx, 500);
}

/** Runs sweepEvents every `everyMs` in the API process, one pass at a time. */
export function startEventSweep(ctx: ApiContext, everyMs = 15_000): NodeJS.Timeout {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepEvents(ctx, everyMs)
      .catch((error: unknown) => ctx.logger.warn({ err: error }, 'event sweep failed; next one soon'))
      .finally(() => {
        sweeping = false;
      });
  }, everyMs);
  timer.unref();
  return timer;
}
