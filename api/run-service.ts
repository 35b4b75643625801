import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { z } from 'zod';
import { hasScope, type Identity } from '../lib/api-keys.js';
import { Prisma } from '../lib/db.js';
import { AppError } from '../lib/errors.js';
import { insertRunRow, recordFactsVersion, runRow, runSearchAttributes, runStartedAudit } from '../lib/run-record.js';
import { chainIsNew, insertAuditEntry, wakeDeliveryWorkflows, type DeliveryRef } from '../lib/outbound-webhooks.js';
import { resolveRunPolicy } from '../lib/policy-store.js';
import { fieldsFilledByOthers, findProcess, type ProcessDefinition, type RunArgs } from '../processes/index.js';
import type { ApiContext } from './context.js';
import { applyHeldEventsSoon } from './event-routing.js';
import { DEFAULT_RETRY_AFTER_SECONDS, parseOr422, unavailableError } from './errors.js';
import { classifyUnavailable } from '../lib/unavailability.js';

export const startRunBodySchema = z.object({
  process: z.string().min(1, 'required'),
  input: z.unknown().refine((v) => v !== undefined, 'required'),
  settings: z.record(z.string(), z.unknown()).optional(),
});

export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(200, 'must be at most 200 characters')
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export interface StartedRun {
  runId: string;
  process: string;
  replayed: boolean;
}

function canonicalHash(value: unknown): string {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)]))
        : v;
  return createHash('sha256').update(JSON.stringify(sortKeys(value))).digest('hex');
}

/** Where a start's checks read from: the database, or the transaction that records the run. */
type Client = Prisma.TransactionClient;

export interface Starter {
  identity: Identity;
  /** The requester a run gets when its input names none: the key's own person. */
  defaultRequester: (db: Client) => Promise<{ name: string; email: string }>;
  /** The directory's name for a person: a requester in the directory is shown by that name, not by free text. */
  directoryName?: (db: Client, email: string) => Promise<string | undefined>;
}

/** A person's name in the directory (one raw statement: it runs in every start's transaction). */
async function directoryNameOf(db: Client, email: string): Promise<string | undefined> {
  const [person] = await db.$queryRaw<Array<{ name: string }>>`SELECT name FROM "Person" WHERE email = ${email}`;
  return person?.name;
}

/** A starter whose runs, when the input names no requester, are requested by the key's own person. */
export function starterFor(identity: Identity): Starter {
  return {
    identity,
    defaultRequester: async (db) => ({ name: (await directoryNameOf(db, identity.email)) ?? identity.email, email: identity.email }),
    directoryName: (db, email) => directoryNameOf(db, email.toLowerCase()),
  };
}

/**
 * Validates the body against the process's own schemas (field paths start at `input.` / `settings.`), after
 * checking the key may start this process, act for the requester it names and, with `settings`, tune the run
 * (runs:configure). Settings are merged over the process's current policy and obey the same bounds.
 */
export async function validateStartRequest(ctx: { db: Client; config: ApiContext['config'] }, body: unknown, starter: Starter) {
  const envelope = parseOr422(startRunBodySchema, body);
  const process = findProcess(envelope.process);
  if (!process) throw new AppError('not_found', `Unknown process "${envelope.process}"`, { process: envelope.process });
  if (!hasScope(starter.identity, `runs:start:${process.key}`)) {
    throw new AppError('forbidden', `This API key lacks the "runs:start:${process.key}" scope`, { requiredScope: `runs:start:${process.key}` });
  }
  const rawInput = envelope.input as Record<string, unknown> | null;
  const named = rawInput && typeof rawInput === 'object' ? (rawInput.requester as { email?: unknown } | undefined) : undefined;
  if (named && typeof named.email === 'string' && named.email.toLowerCase() !== starter.identity.email && !hasScope(starter.identity, 'runs:act-for-others')) {
    throw new AppError('forbidden', 'Starting a run for someone else needs the "runs:act-for-others" scope', { requiredScope: 'runs:act-for-others' });
  }
  // A key for Casey must not start a run shown as requested by "Jordan Blake (CEO)": directory people keep their name.
  const directoryName = named && typeof named.email === 'string' ? await starter.directoryName?.(ctx.db, named.email) : undefined;
  const withRequester =
    rawInput && typeof rawInput === 'object' && !named
      ? { ...rawInput, requester: await starter.defaultRequester(ctx.db) }
      : directoryName
        ? { ...rawInput, requester: { ...named, name: directoryName } }
        : envelope.input;
  const input = parseOr422(process.inputSchema, withRequester, ['input'], `Input for ${process.key} is invalid`);
  // A supplier's bank details or a security verdict given at the start would be shown to approvers as if real.
  const givenByStarter = fieldsFilledByOthers(process).filter((field) => (input as Record<string, unknown>)[field] !== undefined);
  if (givenByStarter.length) {
    throw new AppError('validation_failed', `Input for ${process.key} is invalid`, {
      issues: givenByStarter.map((field) => ({ path: `input.${field}`, message: 'is filled in during the run, not when it starts' })),
    });
  }
  const settings = envelope.settings && Object.keys(envelope.settings).length > 0 ? envelope.settings : undefined;
  if (settings && !hasScope(starter.identity, 'runs:configure')) {
    throw new AppError('forbidden', 'Per-run settings need the "runs:configure" scope: routing, thresholds and timing are the process policy, owned by admins', {
      requiredScope: 'runs:configure',
    });
  }
  const resolved = await resolveRunPolicy(ctx.db, process, settings, ctx.config.OPSFLOW_ALLOW_SHORT_DURATIONS);
  return { process, input, settings: settings ?? {}, resolved };
}

/** What the workflow of a recorded run starts with: the input and the policy fixed when it was recorded. */
export function runArgsOf(run: { input: unknown; policy: unknown; policyVersion: number | null; settings: unknown; startedBy: string | null }): RunArgs<unknown, unknown> {
  const settings = run.settings as Record<string, unknown>;
  return {
    input: run.input,
    policy: run.policy,
    policyStamp: { version: run.policyVersion ?? 1, overridden: Object.keys(settings ?? {}).length > 0 },
    settings,
    ...(run.startedBy ? { startedBy: run.startedBy } : {}),
  };
}

/**
 * Starting twice with one run id is a no-op: the run id is the workflow id and the conflict policy keeps the first.
 * Every run the API starts starts here, so this is where the events held for it (by its run id or the correlation
 * key it was started for) are handed to it.
 */
export async function startWorkflow(ctx: ApiContext, process: ProcessDefinition, runId: string, args: RunArgs<unknown, unknown>, correlationKey?: string) {
  await startWorkflowOnce(ctx, process, runId, args);
  if (process.events?.consumes?.length) applyHeldEventsSoon(ctx, process.key, correlationKey ? [runId, correlationKey] : [runId]);
}

async function startWorkflowOnce(ctx: ApiContext, process: ProcessDefinition, runId: string, args: RunArgs<unknown, unknown>) {
  try {
    await ctx.temporal.workflow.start(process.workflowType, {
      workflowId: runId,
      workflowIdConflictPolicy: 'USE_EXISTING',
      taskQueue: process.taskQueue ?? ctx.config.TEMPORAL_TASK_QUEUE,
      args: [args],
      typedSearchAttributes: runSearchAttributes(process, args.input),
    });
  } catch (error) {
    // A retried request whose first attempt already started the workflow.
    if (error instanceof WorkflowExecutionAlreadyStartedError) return;
    throw error;
  }
}

/** Outbound webhooks are best effort here: a lost wake-up is picked up by the worker's sweep. */
export async function wakeWebhooks(ctx: ApiContext, refs: DeliveryRef[]): Promise<void> {
  if (refs.length === 0) return;
  await wakeDeliveryWorkflows(ctx.temporal, ctx.config.TEMPORAL_TASK_QUEUE, refs).catch((error: unknown) =>
    ctx.logger.warn({ err: error }, 'could not wake webhook deliveries; the sweep will'),
  );
}

/**
 * Records the run as `not_started`, starts its workflow (workflow id = run id), then marks it `running`. A start
 * that did not reach Temporal leaves the row `not_started`: out of lists and KPIs, and the client's retry with the
 * same Idempotency-Key starts that very run. With a key, the same key and body return the first run; the same key
 * with another body is refused. Starts beyond the API's concurrency wait in a bounded queue, or get 503.
 */
export async function startRun(ctx: ApiContext, body: unknown, idempotencyKey: string | undefined, starter: Starter): Promise<StartedRun> {
  const limiter = ctx.runStarts;
  return limiter ? limiter.run(() => recordAndStartRun(ctx, body, idempotencyKey, starter)) : recordAndStartRun(ctx, body, idempotencyKey, starter);
}

async function recordAndStartRun(ctx: ApiContext, body: unknown, idempotencyKey: string | undefined, starter: Starter): Promise<StartedRun> {
  let checked: { process: ProcessDefinition; requestHash: string } | undefined;
  let recorded;
  try {
    // One transaction, so one commit: the checks' reads (the requester's name, the policy in force and the roles it
    // names, the Idempotency-Key's earlier use) and the writes (the run, its facts version and its audit entry).
    recorded = await ctx.db.$transaction(async (tx) => {
      const { process, input, settings, resolved } = await validateStartRequest({ db: tx, config: ctx.config }, body, starter);
      const requestHash = canonicalHash({ process: process.key, input, settings });
      checked = { process, requestHash };
      if (idempotencyKey) {
        const existing = await tx.idempotencyKey.findUnique({ where: { key: idempotencyKey } });
        if (existing) return { replayOf: { runId: existing.runId, requestHash: existing.requestHash } };
      }
      const runId = `${process.key}-${randomUUID()}`;
      const startedBy = starter.identity.email.toLowerCase();
      const row = { ...runRow(process, runId, input, settings, resolved, { trigger: 'api', startedBy }), status: NOT_STARTED };
      await insertRunRow(tx, row);
      chainIsNew(tx, runId);
      if (idempotencyKey) await tx.idempotencyKey.create({ data: { key: idempotencyKey, requestHash, runId } });
      await recordFactsVersion(tx, process, runId, input);
      const audit = await insertAuditEntry(tx, runStartedAudit(runId, startedBy, row.requesterEmail, resolved, settings));
      return { runId, row, wake: audit.wake };
    });
  } catch (error) {
    // Two requests raced with one key: the other one won; answer as it did.
    if (checked && idempotencyKey && error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      const winner = await ctx.db.idempotencyKey.findUniqueOrThrow({ where: { key: idempotencyKey } });
      return replay(ctx, winner, checked.requestHash, checked.process);
    }
    throw error;
  }
  const { process, requestHash } = checked!;
  if (recorded.replayOf) return replay(ctx, recorded.replayOf, requestHash, process);

  const { runId, row, wake } = recorded;
  await startRecordedRun(ctx, process, runId, runArgsOf(row));
  ctx.metrics?.runsStarted.inc({ process: process.key });
  await wakeWebhooks(ctx, wake);
  return { runId, process: process.key, replayed: false };
}

/** A run recorded but whose workflow start has not been confirmed (README, Reliability): not in lists or KPIs. */
export const NOT_STARTED = 'not_started';

/**
 * Starts a recorded run's workflow and marks it running. When Temporal cannot be reached the row stays
 * `not_started` (nothing to undo, so a database that fails too changes nothing) and the caller gets 503.
 */
async function startRecordedRun(ctx: ApiContext, process: ProcessDefinition, runId: string, args: RunArgs<unknown, unknown>): Promise<void> {
  try {
    await startWorkflow(ctx, process, runId, args);
  } catch (error) {
    const unavailable = classifyUnavailable(error);
    ctx.logger[unavailable ? 'warn' : 'error']({ err: error, runId }, 'workflow start did not reach Temporal; the run stays not_started until a retry');
    throw unavailableError('workflow engine', unavailable?.reason ?? 'the run could not be started', DEFAULT_RETRY_AFTER_SECONDS);
  }
  await markStarted(ctx.db, runId);
}

/**
 * Marks at once: one statement for every start that finished while the previous one was written, so concurrent
 * starts share a commit; a lone start is written at once. Each caller resolves when its own run is marked.
 */
class StartMarks {
  private pending: Array<{ runId: string; done: () => void; failed: (error: unknown) => void }> = [];
  private writing = false;

  constructor(private readonly db: ApiContext['db']) {}

  mark(runId: string): Promise<void> {
    return new Promise((done, failed) => {
      this.pending.push({ runId, done, failed });
      if (!this.writing) void this.writeAll();
    });
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      const ids = batch.map((b) => b.runId);
      try {
        // updatedAt as Prisma's @updatedAt would set it; a run that moved on meanwhile is left alone. Committed without
        // waiting for the WAL flush (synchronous_commit off for this one statement): a mark lost to a database crash
        // in the fraction of a second before the flush leaves the run not_started, and the API's sweep
        // (confirmUnconfirmedStarts) finds its workflow and marks it again. The run's record itself is committed durably.
        await this.db.$executeRaw`
          WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true))
          UPDATE "Run" SET status = 'running', "updatedAt" = now()
          WHERE id = ANY(${ids}::text[]) AND status = ${NOT_STARTED} AND EXISTS (SELECT 1 FROM relaxed)`;
        for (const b of batch) b.done();
      } catch (error) {
        for (const b of batch) b.failed(error);
      }
    }
    this.writing = false;
  }
}

const startMarks = new WeakMap<ApiContext['db'], StartMarks>();

/** not_started → running; a run that already moved on (a quick workflow closed it) keeps its own status. */
export async function markStarted(db: ApiContext['db'], runId: string): Promise<void> {
  let marks = startMarks.get(db);
  if (!marks) startMarks.set(db, (marks = new StartMarks(db)));
  await marks.mark(runId);
}

async function replay(ctx: ApiContext, existing: { runId: string; requestHash: string }, requestHash: string, process: ProcessDefinition): Promise<StartedRun> {
  if (existing.requestHash !== requestHash) {
    throw new AppError('validation_failed', 'This Idempotency-Key was already used with a different request body', {
      issues: [{ path: 'Idempotency-Key', message: 'already used with a different body' }],
    });
  }
  // The first attempt may have stopped between recording the run and starting it: start it as it was recorded.
  const run = await ctx.db.run.findUniqueOrThrow({ where: { id: existing.runId } });
  await startRecordedRun(ctx, process, existing.runId, runArgsOf(run));
  return { runId: existing.runId, process: process.key, replayed: true };
}
