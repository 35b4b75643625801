import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { Prisma } from '../lib/db.js';
import { fieldIssues } from '../lib/errors.js';
import type { InboundEvent } from '../lib/generated/prisma/client.js';
import { insertAuditEntry, type DeliveryRef } from '../lib/outbound-webhooks.js';
import { APPLY_EVENT_UPDATE, type AppliedEvent, type InboundEventMessage } from '../processes/event-messages.js';
import { processes, type ProcessDefinition } from '../processes/index.js';
import type { EventConsumeRoute, EventStartRoute } from '../processes/types.js';
import type { ApiContext } from './context.js';
import { resolveRunPolicy } from '../lib/policy-store.js';
import { recordFactsVersion, runRow, runStartedAudit } from '../lib/run-record.js';
import { runArgsOf, startWorkflow, wakeWebhooks } from './run-service.js';

type Outcome = Pick<InboundEvent, 'status' | 'runId' | 'statusReason'> & { issues?: Prisma.InputJsonValue };

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

async function settle(ctx: ApiContext, event: InboundEvent, outcome: Outcome): Promise<InboundEvent> {
  const { issues, ...rest } = outcome;
  let wake: DeliveryRef[] = [];
  const settled = await ctx.db.$transaction(async (tx) => {
    const updated = await tx.inboundEvent.update({ where: { id: event.id }, data: { ...rest, ...(issues ? { issues } : {}), routedAt: new Date() } });
    if (outcome.runId && outcome.status === 'applied') {
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
    return updated;
  });
  await wakeWebhooks(ctx, wake);
  return settled;
}

type Delivery = { kind: 'applied' } | { kind: 'refused'; reason: string } | { kind: 'no_answer' };

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
    if (error instanceof WorkflowNotFoundError || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || (error as { code?: number }).code === 4) return { kind: 'no_answer' };
    throw error;
  }
}

/**
 * Sends a recorded event where the processes say it goes: to the running runs that consume it (matched by
 * correlation key), else to a new run when a process starts on it, else it stays visible as unmatched. Safe to
 * repeat: the run is keyed by correlation key and the Update by event id. Returns the event as settled, or still
 * `received` when a run did not answer in time (the sweep tries again).
 */
export async function routeEvent(ctx: ApiContext, event: InboundEvent, waitMs = 5_000): Promise<InboundEvent> {
  const data = event.payload as Record<string, unknown>;
  const { starters, consumers } = routesFor(event.source, event.type);
  if (starters.length === 0 && consumers.length === 0) {
    return settle(ctx, event, { status: 'unmatched', runId: null, statusReason: `no process reacts to ${event.type} from ${event.source}` });
  }

  const reasons: string[] = [];
  for (const { process, route } of consumers) {
    const key = keyOf(route, data);
    if (!key) {
      reasons.push(`${process.key}: the event carries no correlation key`);
      continue;
    }
    const runs = await ctx.db.run.findMany({ where: { process: process.key, status: 'running', OR: [{ correlationKey: key }, { id: key }] }, select: { id: true } });
    for (const run of runs) {
      const delivery = await deliverToRun(ctx, run.id, event, waitMs);
      if (delivery.kind === 'applied') return settle(ctx, event, { status: 'applied', runId: run.id, statusReason: null });
      if (delivery.kind === 'no_answer') return event;
      reasons.push(`${run.id}: ${delivery.reason}`);
    }
    if (runs.length === 0) reasons.push(`no running ${process.key} run has key ${key}`);
  }

  for (const { process, route } of starters) {
    const started = await startFromEvent(ctx, event, process, route, data);
    if (started) return started;
    reasons.push(`${process.key}: a run for this key already exists`);
  }
  return settle(ctx, event, { status: 'unmatched', runId: null, statusReason: reasons.join('; ') });
}

/**
 * An event an operator records for one run over the API (e.g. an offer accepted by phone): no correlation key
 * needed, the same Update and the same record as a routed event.
 */
export async function applyEventToRun(ctx: ApiContext, event: InboundEvent, runId: string): Promise<InboundEvent> {
  const delivery = await deliverToRun(ctx, runId, event, 10_000);
  if (delivery.kind === 'applied') return settle(ctx, event, { status: 'applied', runId, statusReason: null });
  if (delivery.kind === 'no_answer') return event;
  return settle(ctx, event, { status: 'unmatched', runId: null, statusReason: `${runId}: ${delivery.reason}` });
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
  if (event.runId !== runId) {
    const resolved = await resolveRunPolicy(ctx.db, process, undefined, ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);
    const row = runRow(process, runId, parsed.data, {}, resolved, { trigger: 'event', correlationKey: key });
    let wake: DeliveryRef[];
    try {
      wake = await ctx.db.$transaction(async (tx) => {
        await tx.run.create({ data: row });
        await tx.inboundEvent.update({ where: { id: event.id }, data: { runId } });
        await recordFactsVersion(tx, process, runId, parsed.data);
        const audit = runStartedAudit(runId, `source:${event.source}`, row.requesterEmail, resolved, {}, { eventId: event.id, type: event.type, correlationKey: key });
        return (await insertAuditEntry(tx, audit)).wake;
      });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return null;
      throw error;
    }
    await startWorkflow(ctx, process, runId, runArgsOf(row));
    await wakeWebhooks(ctx, wake);
  } else {
    await startWorkflow(ctx, process, runId, runArgsOf(await ctx.db.run.findUniqueOrThrow({ where: { id: runId } })));
  }
  ctx.metrics?.runsStarted.inc({ process: process.key });
  return settle(ctx, event, { status: 'started', runId, statusReason: null });
}

/** Routes events left `received` (a crash, or a run that did not answer in time). Runs in the API process. */
export function startEventSweep(ctx: ApiContext, everyMs = 15_000): NodeJS.Timeout {
  const timer = setInterval(() => {
    void (async () => {
      const stale = await ctx.db.inboundEvent.findMany({
        where: { status: 'received', receivedAt: { lt: new Date(Date.now() - everyMs) } },
        orderBy: { receivedAt: 'asc' },
        take: 100,
      });
      for (const event of stale) {
        // Recorded by hand for one run (POST /runs/:id/events): it goes to that run, not by correlation key.
        if (event.webhookId.startsWith('api:') && event.runId) await applyEventToRun(ctx, event, event.runId);
        else await routeEvent(ctx, event);
      }
    })().catch((error: unknown) => ctx.logger.warn({ err: error }, 'event sweep failed; next one soon'));
  }, everyMs);
  timer.unref();
  return timer;
}
