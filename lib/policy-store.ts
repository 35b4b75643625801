import { columnsOf, Prisma, type Db } from './db.js';
import { AppError, fieldIssues, type FieldIssue } from './errors.js';
import type { ProcessPolicy } from './generated/prisma/client.js';
import { insertAuditEntry, type DeliveryRef } from './outbound-webhooks.js';
import type { PolicyStamp } from '../processes/controls.js';
import { policySchemaOf, type ProcessDefinition } from '../processes/index.js';
import { policyLimits, productionLimits, rolesNamedIn, shortDurationLimits } from '../processes/policy.js';

/**
 * Policies are data admins own, versioned in PostgreSQL: every change is a new version with who, when and why,
 * audited. A run resolves the newest version when it starts and carries it (with any per-run settings over it)
 * in its workflow input, so a later change never alters a run that is already open.
 */

type Client = Db | Prisma.TransactionClient;

/** The newest version; the process's built-in defaults become version 1 the first time anyone asks. */
export async function currentPolicy(db: Client, process: ProcessDefinition): Promise<ProcessPolicy> {
  const latest = await latestPolicy(db, process.key);
  if (latest) return latest;
  const defaults = policySchemaOf(process, productionLimits).parse({});
  await db.processPolicy.createMany({
    data: [{ process: process.key, version: 1, policy: defaults as Prisma.InputJsonValue, createdBy: 'opsflow', reason: 'built-in default' }],
    skipDuplicates: true,
  });
  return db.processPolicy.findFirstOrThrow({ where: { process: process.key }, orderBy: { version: 'desc' } });
}

const policyColumns = columnsOf('p', Prisma.ProcessPolicyScalarFieldEnum);

/**
 * The newest stored version, as Prisma's `findFirst` would give it (held equal by test/api/raw-statements.test.ts):
 * one raw statement, since every run start reads it and Prisma compiles each model query anew.
 */
async function latestPolicy(db: Client, processKey: string): Promise<ProcessPolicy | undefined> {
  const [latest] = await db.$queryRaw<ProcessPolicy[]>`
    SELECT ${policyColumns} FROM "ProcessPolicy" p
    WHERE p.process = ${processKey} ORDER BY p.version DESC LIMIT 1`;
  return latest;
}

export async function policyVersions(db: Db, process: ProcessDefinition): Promise<ProcessPolicy[]> {
  await currentPolicy(db, process);
  return db.processPolicy.findMany({ where: { process: process.key }, orderBy: { version: 'desc' } });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars in `override` replace what `base` has. */
export function mergePolicy(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) merged[key] = mergePolicy(base[key], value);
  return merged;
}

/** A policy naming a role nobody in the directory holds would fail at the step that needs it: refuse it now. */
export async function unknownRoleIssues(db: Client, policy: unknown, prefix: string[]): Promise<FieldIssue[]> {
  const named = rolesNamedIn(policy);
  if (named.length === 0) return [];
  // Which of the named roles somebody holds, and nothing else: one raw statement (every run start makes it).
  const held = await db.$queryRaw<Array<{ role: string }>>`
    SELECT named.role FROM unnest(${[...new Set(named.map(({ role }) => role))]}::text[]) AS named(role)
    WHERE EXISTS (SELECT 1 FROM "Person" p WHERE p.roles @> ARRAY[named.role])`;
  const known = new Set(held.map(({ role }) => role));
  return named
    .filter(({ role }) => !known.has(role))
    .map(({ role, path }) => ({ path: [...prefix, ...path.map(String)].join('.'), message: `unknown role "${role}": nobody in the directory holds it` }));
}

/** Every problem at once: the schema's (shape and bounds) and any role nobody holds, each with its field path. */
async function validPolicy(db: Client, process: ProcessDefinition, candidate: unknown, allowShortDurations: boolean, prefix: string[], message: string) {
  const parsed = policySchemaOf(process, policyLimits(allowShortDurations)).safeParse(candidate);
  const issues = [...(parsed.success ? [] : fieldIssues(parsed.error.issues, prefix)), ...(await unknownRoleIssues(db, parsed.success ? parsed.data : candidate, prefix))];
  if (!parsed.success || issues.length) throw new AppError('validation_failed', message, { issues });
  return parsed.data as Record<string, unknown>;
}

/**
 * A stored policy in its schema's order, for people to read: PostgreSQL's jsonb keeps object keys in an order of
 * its own. Parsed with the widest bounds, so a policy saved where short durations were allowed still reads.
 */
export function inSchemaOrder(process: ProcessDefinition, policy: unknown): unknown {
  const parsed = policySchemaOf(process, shortDurationLimits).safeParse(policy);
  return parsed.success ? parsed.data : policy;
}

export interface RunPolicy {
  policy: Record<string, unknown>;
  stamp: PolicyStamp;
}

/**
 * The policy a new run gets: the newest version, with the starter's `settings` merged over it (the caller checks
 * the runs:configure scope). The result obeys the same bounds as a stored policy.
 */
export async function resolveRunPolicy(db: Client, process: ProcessDefinition, settings: Record<string, unknown> | undefined, allowShortDurations: boolean): Promise<RunPolicy> {
  const stored = await currentPolicy(db, process);
  const overridden = !!settings && Object.keys(settings).length > 0;
  const candidate = overridden ? mergePolicy(stored.policy, settings) : stored.policy;
  const policy = await validPolicy(
    db,
    process,
    candidate,
    allowShortDurations,
    [overridden ? 'settings' : 'policy'],
    overridden ? `Settings for ${process.key} are invalid` : `The ${process.key} policy (version ${stored.version}) does not meet this deployment's bounds`,
  );
  return { policy, stamp: { version: stored.version, overridden } };
}

export interface PolicyChange {
  policy: unknown;
  reason: string;
  /** The version the admin edited; a change based on an older one is refused rather than silently overwriting. */
  basedOn?: number;
}

/** Stores a new version and audits it (who, why, before and after); open runs keep the version they have. */
export async function savePolicy(
  db: Db,
  process: ProcessDefinition,
  change: PolicyChange,
  actor: string,
  allowShortDurations: boolean,
): Promise<{ saved: ProcessPolicy; wake: DeliveryRef[] }> {
  const policy = await validPolicy(db, process, change.policy, allowShortDurations, ['policy'], `The ${process.key} policy is invalid`);
  const previous = await currentPolicy(db, process);
  if (change.basedOn !== undefined && change.basedOn !== previous.version) {
    throw new AppError('conflict', `The ${process.key} policy changed since version ${change.basedOn}: it is at version ${previous.version} now`, { currentVersion: previous.version });
  }
  const version = previous.version + 1;
  try {
    return await db.$transaction(async (tx) => {
      const saved = await tx.processPolicy.create({
        data: { process: process.key, version, policy: policy as Prisma.InputJsonValue, createdBy: actor, reason: change.reason },
      });
      const audit = await insertAuditEntry(tx, {
        eventKey: `policy:${process.key}:v${version}`,
        runId: null,
        action: 'policy.changed',
        actor,
        details: { process: process.key, version, previousVersion: previous.version, reason: change.reason, before: previous.policy, after: policy } as Prisma.InputJsonValue,
      });
      return { saved, wake: audit.wake };
    });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new AppError('conflict', `Someone else changed the ${process.key} policy at the same time; reload and try again`);
    }
    throw error;
  }
}
