import type { SearchAttributePair } from '@temporalio/common';
import { columnsOf, Prisma, sqlTimestamp } from './db.js';
import type { Run } from './generated/prisma/client.js';
import type { RunPolicy } from './policy-store.js';
import { factsOf, findProcess, type ProcessDefinition } from '../processes/index.js';
import { searchAttributes } from '../processes/search-attributes.js';

export type RunOrigin = { trigger: 'api' | 'event' | 'schedule'; correlationKey?: string; scheduleId?: string; startedBy?: string };

/** The Run row every process run has, whatever started it. */
export function runRow(
  process: ProcessDefinition,
  runId: string,
  input: unknown,
  settings: unknown,
  resolved: RunPolicy,
  origin: RunOrigin,
) {
  const summary = process.summarize(input);
  return {
    id: runId,
    process: process.key,
    status: 'running',
    title: summary.title,
    requesterName: summary.requester.name,
    requesterEmail: summary.requester.email.toLowerCase(),
    input: input as Prisma.InputJsonValue,
    settings: (settings ?? {}) as Prisma.InputJsonValue,
    policy: resolved.policy as Prisma.InputJsonValue,
    policyVersion: resolved.stamp.version,
    startedBy: origin.startedBy?.toLowerCase() ?? null,
    amount: summary.amount ?? null,
    currency: summary.currency ?? null,
    trigger: origin.trigger,
    correlationKey: origin.correlationKey ?? null,
    scheduleId: origin.scheduleId ?? null,
  };
}

/** What Temporal can search runs by, from the same summary the Run row uses. */
export function runSearchAttributes(process: ProcessDefinition, input: unknown): SearchAttributePair[] {
  const summary = process.summarize(input);
  const pairs: SearchAttributePair[] = [
    { key: searchAttributes.process, value: process.key },
    { key: searchAttributes.status, value: 'running' },
    { key: searchAttributes.requester, value: summary.requester.email.toLowerCase() },
  ];
  if (summary.amount !== undefined) pairs.push({ key: searchAttributes.amount, value: summary.amount });
  if (summary.currency) pairs.push({ key: searchAttributes.currency, value: summary.currency });
  if (summary.costCenter) pairs.push({ key: searchAttributes.costCenter, value: summary.costCenter });
  return pairs;
}


/**
 * Records what approvers of the run are shown for this input, under its version, so a decision on it can later
 * be answered with what changed since. Safe to repeat: a version is the hash of its content.
 */
export async function recordFactsVersion(tx: Prisma.TransactionClient, process: ProcessDefinition, runId: string, input: unknown): Promise<string> {
  const { facts, version } = factsOf(process, input);
  // What createMany with skipDuplicates writes, as one raw statement: Prisma compiles every model query anew.
  await tx.$executeRaw`
    INSERT INTO "RunFactsVersion" ("runId", version, facts, input, "createdAt")
    VALUES (${runId}, ${version}, ${JSON.stringify(facts)}::jsonb, ${JSON.stringify(input)}::jsonb, now())
    ON CONFLICT DO NOTHING`;
  return version;
}

/**
 * Inserts a run's row as `tx.run.create({ data: row })` would (startedAt and updatedAt now, every other column
 * null), in one raw statement: a start's transaction is the API's hottest path, and Prisma compiles each model
 * query anew (about 2 ms of CPU each on the development machine, a raw statement about a fifth of that).
 */
export async function insertRunRow(tx: Prisma.TransactionClient, row: ReturnType<typeof runRow>): Promise<void> {
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));
  await tx.$executeRaw`
    INSERT INTO "Run" (id, process, status, title, "requesterName", "requesterEmail", input, settings, policy, "policyVersion",
      "startedBy", amount, currency, trigger, "correlationKey", "scheduleId", "startedAt", "updatedAt")
    VALUES (${row.id}, ${row.process}, ${row.status}, ${row.title}, ${row.requesterName}, ${row.requesterEmail}, ${json(row.input)}::jsonb,
      ${json(row.settings)}::jsonb, ${json(row.policy)}::jsonb, ${row.policyVersion}::int, ${row.startedBy}, ${row.amount === null ? null : String(row.amount)}::numeric,
      ${row.currency}, ${row.trigger}, ${row.correlationKey}, ${row.scheduleId}, now(), now())`;
}

/** The columns of a run that change as it moves on: `runUpdateData` (activities/records.ts) gives them. */
export interface RunChanges {
  status?: string;
  currentStep?: string | null;
  outcome?: string;
  failureReason?: string;
  closedAt?: Date;
}

const runColumns = columnsOf('r', Prisma.RunScalarFieldEnum);

/**
 * `tx.run.update({ where: { id: runId }, data: changes })` in one raw statement: each step's opening and each run's
 * close make one, and Prisma compiles every model query anew (about 0.5 ms of the worker's CPU more than this).
 * The columns given are set and `updatedAt` as `@updatedAt` sets it; the row comes back as it is after. A run that
 * does not exist fails as Prisma's update does (P2025), by asking Prisma.
 */
export async function updateRunRow(tx: Prisma.TransactionClient, runId: string, changes: RunChanges): Promise<Run> {
  const set = (column: string, value: unknown) => (value === undefined ? [] : [Prisma.sql`${Prisma.raw(`"${column}"`)} = ${value}`]);
  const assignments = [
    ...set('status', changes.status),
    ...set('currentStep', changes.currentStep),
    ...set('outcome', changes.outcome),
    ...set('failureReason', changes.failureReason),
    ...(changes.closedAt ? [Prisma.sql`"closedAt" = ${sqlTimestamp(changes.closedAt)}`] : []),
    Prisma.sql`"updatedAt" = ${sqlTimestamp(new Date())}`,
  ];
  const [run] = await tx.$queryRaw<Run[]>`UPDATE "Run" AS r SET ${Prisma.join(assignments)} WHERE r.id = ${runId} RETURNING ${runColumns}`;
  return run ?? tx.run.update({ where: { id: runId }, data: changes });
}

/**
 * Puts `value` under `field` of the run's input (an outside party's form, what the run's tasks came to) and records
 * the facts approvers see from now on: the next approver's page, mail and decision version include it.
 */
export async function extendRunInput(tx: Prisma.TransactionClient, runId: string, field: string, value: unknown): Promise<void> {
  const run = await tx.run.findUniqueOrThrow({ where: { id: runId } });
  const input = { ...(run.input as Record<string, unknown>), [field]: value };
  await tx.run.update({ where: { id: runId }, data: { input: input as Prisma.InputJsonValue } });
  const process = findProcess(run.process);
  if (process) await recordFactsVersion(tx, process, runId, input);
}

/** `run.started` says who asked (the requester), whose key started it, and under which policy version. */
export function runStartedAudit(runId: string, actor: string, requesterEmail: string, resolved: RunPolicy, settings: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    eventKey: `${runId}:run.started`,
    runId,
    action: 'run.started',
    actor,
    details: {
      requester: requesterEmail,
      startedBy: actor,
      policyVersion: resolved.stamp.version,
      ...(resolved.stamp.overridden ? { settings } : {}),
      ...extra,
    } as Prisma.InputJsonValue,
  };
}
