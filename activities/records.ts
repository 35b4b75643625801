import { ApplicationFailure } from '@temporalio/activity';
import { columnsOf, Prisma, sqlTimestamp } from '../lib/db.js';
import { AppError } from '../lib/errors.js';
import { insertAuditEntry, type DeliveryRef } from '../lib/outbound-webhooks.js';
import { resolveRunPolicy, type RunPolicy } from '../lib/policy-store.js';
import { recordFactsVersion, runRow, runStartedAudit, updateRunRow } from '../lib/run-record.js';
import type { Candidate, SkippedCandidate } from '../processes/controls.js';
import { FailureType } from '../processes/failures.js';
import { findProcess } from '../processes/index.js';
import type { ActivityDeps } from './deps.js';

export type RunStatus = 'running' | 'completed' | 'rejected' | 'expired' | 'cancelled' | 'failed';

export interface RunUpdate {
  runId: string;
  status?: RunStatus;
  currentStep?: string | null;
  outcome?: string;
  failureReason?: string;
  closedAt?: number;
}

export interface AuditInput {
  /** Stable across retries: e.g. `${runId}:line-manager:1:requested`. */
  eventKey: string;
  runId: string;
  action: string;
  actor: string;
  step?: string;
  onBehalfOf?: string;
  ip?: string;
  userAgent?: string;
  details?: Record<string, unknown>;
  at?: number;
}

export interface Approver {
  email: string;
  name: string;
  role: string;
  /** The person this approver stands in for (out of office with a delegation). */
  onBehalfOf?: { email: string; name: string };
}

/** An audit input as the row insertAuditEntry writes, for activities that audit inside their own transaction. */
export function auditRow(entry: AuditInput) {
  return {
    eventKey: entry.eventKey,
    runId: entry.runId,
    action: entry.action,
    actor: entry.actor,
    step: entry.step ?? null,
    onBehalfOf: entry.onBehalfOf ?? null,
    ip: entry.ip ?? null,
    userAgent: entry.userAgent ?? null,
    details: (entry.details ?? {}) as Prisma.InputJsonValue,
    ...(entry.at ? { at: new Date(entry.at) } : {}),
  };
}

export async function writeAudit(deps: ActivityDeps, entry: AuditInput): Promise<void> {
  try {
    await writeInOneTransaction(deps, (_tx, audit) => audit(entry));
  } catch (error) {
    // A concurrent attempt of the same activity wrote it first. Only that: any other duplicate (e.g. a chain seq)
    // would be an entry lost in silence, so it fails the activity, which retries it.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      if (await deps.db.auditEntry.findUnique({ where: { eventKey: entry.eventKey }, select: { id: true } })) return;
    }
    throw error;
  }
}

/** Writes an audit entry (and its webhook outbox rows) in the caller's transaction; true when it was new. */
export type AuditWriter = (entry: AuditInput) => Promise<boolean>;

/**
 * Runs `work` as one transaction, so the several writes of an activity (its rows and its audit entries, with their
 * webhook outbox rows) cost one commit and land together; then wakes the deliveries the entries queued.
 */
export async function writeInOneTransaction<T>(deps: Pick<ActivityDeps, 'db' | 'wakeWebhookDeliveries'>, work: (tx: Prisma.TransactionClient, audit: AuditWriter) => Promise<T>): Promise<T> {
  const wake: DeliveryRef[] = [];
  const result = await deps.db.$transaction(async (tx) =>
    work(tx, async (entry) => {
      const written = await insertAuditEntry(tx, auditRow(entry));
      wake.push(...written.wake);
      return written.inserted;
    }),
  );
  await deps.wakeWebhookDeliveries(wake);
  return result;
}

/** The columns a RunUpdate sets (what it leaves out stays as it is). */
export function runUpdateData(update: RunUpdate) {
  return {
    ...(update.status ? { status: update.status } : {}),
    ...(update.currentStep !== undefined ? { currentStep: update.currentStep } : {}),
    ...(update.outcome ? { outcome: update.outcome } : {}),
    ...(update.failureReason ? { failureReason: update.failureReason } : {}),
    ...(update.closedAt ? { closedAt: new Date(update.closedAt) } : {}),
  };
}

/** What the directory and the workflow's separation-of-duties rules work with (see processes/controls.ts). */
export type { Candidate, SkippedCandidate } from '../processes/controls.js';

/**
 * Run records, the audit trail, and who can take a seat: role references from a process ("manager-of-requester",
 * "role:cfo", "person:a@b.c") turned into people from the directory at the moment a step opens.
 */
export function createRecordActivities(deps: ActivityDeps) {
  return {
    /** With `audit`, the change and its audit entry commit together: nobody sees one without the other. */
    async updateRun(update: RunUpdate & { audit?: AuditInput }): Promise<void> {
      const data = runUpdateData(update);
      const { audit } = update;
      if (!audit) {
        // A lone statement is its own transaction: no BEGIN and COMMIT round trips around it.
        await updateRunRow(deps.db, update.runId, data);
        return;
      }
      const wake = await deps.db.$transaction(async (tx) => {
        const run = await updateRunRow(tx, update.runId, data);
        const written = await insertAuditEntry(tx, auditRow(audit));
        if (written.inserted && update.status && update.status !== 'running') deps.metrics?.runsClosed.inc({ process: run.process, outcome: update.status });
        return written.wake;
      });
      await deps.wakeWebhookDeliveries(wake);
    },

    /**
     * A scheduled run records itself, resolving the policy in force now (with the schedule's settings over it),
     * and returns that policy for the workflow to carry. A retry finds the row and returns what it recorded.
     */
    async recordScheduledRun(request: { runId: string; processKey: string; input: unknown; settings?: Record<string, unknown>; startedBy?: string; scheduleId: string }): Promise<RunPolicy> {
      const process = findProcess(request.processKey);
      if (!process) throw ApplicationFailure.nonRetryable(`Unknown process ${request.processKey}`, FailureType.unknownProcess);
      const existing = await deps.db.run.findUnique({ where: { id: request.runId } });
      if (existing?.policy) return { policy: existing.policy as Record<string, unknown>, stamp: { version: existing.policyVersion ?? 1, overridden: Object.keys(existing.settings ?? {}).length > 0 } };
      let resolved: RunPolicy;
      try {
        resolved = await resolveRunPolicy(deps.db, process, request.settings, deps.settings.allowShortDurations);
      } catch (error) {
        if (error instanceof AppError) throw ApplicationFailure.nonRetryable(`${error.message}: ${(error.details?.issues ?? []).map((i) => `${i.path} ${i.message}`).join('; ')}`, FailureType.policyInvalid);
        throw error;
      }
      const row = runRow(process, request.runId, request.input, request.settings, resolved, { trigger: 'schedule', scheduleId: request.scheduleId, startedBy: request.startedBy });
      const wake = await deps.db.$transaction(async (tx) => {
        if (await tx.run.findUnique({ where: { id: request.runId }, select: { id: true } })) return [];
        await tx.run.create({ data: row });
        await recordFactsVersion(tx, process, request.runId, request.input);
        const audit = runStartedAudit(request.runId, `schedule:${request.scheduleId}`, row.requesterEmail, resolved, request.settings ?? {}, { scheduleId: request.scheduleId });
        return (await insertAuditEntry(tx, audit)).wake;
      });
      await deps.wakeWebhookDeliveries(wake);
      return resolved;
    },

    async appendAudit(entry: AuditInput): Promise<void> {
      await writeAudit(deps, entry);
    },

    /** Every read of one resolution in one transaction: a single commit however many people and delegations it reads. */
    approverCandidates: (request: { roles: string[]; subjectEmail: string; managerChain?: boolean }) => deps.db.$transaction((tx) => approverCandidates(tx, request)),

    /**
     * Separation of duties passed people over (or left a seat empty): the audit says who, for which seat, and why.
     * One entry per person, keyed so a retry writes each once.
     */
    async recordSkippedApprovers(request: {
      runId: string;
      stepId: string;
      key: string;
      skipped: SkippedCandidate[];
      unfilled: Array<{ role: string; reason: string }>;
      failed: boolean;
      /** An escalation that found nobody: the seat stays with its approver until the deadline. */
      escalation?: boolean;
    }): Promise<void> {
      const base = `${request.runId}:${request.stepId}:${request.key}`;
      const entries: AuditInput[] = [
        ...request.skipped.map((skip, i) => ({
          eventKey: `${base}:skipped:${i}`,
          runId: request.runId,
          action: 'approval.approver_skipped',
          actor: 'opsflow',
          step: request.stepId,
          details: { role: skip.role, skipped: skip.email, name: skip.name, reason: skip.reason, rule: 'separation of duties' },
        })),
        ...request.unfilled.map((seat, i) => ({
          eventKey: `${base}:unfilled:${i}`,
          runId: request.runId,
          action: request.failed ? 'approval.no_eligible_approver' : request.escalation ? 'approval.not_escalated' : 'approval.seat_left_empty',
          actor: 'opsflow',
          step: request.stepId,
          details: { role: seat.role, reason: seat.reason },
        })),
      ];
      for (const entry of entries) await writeAudit(deps, entry);
    },
  };
}

/** Where the directory is read from: the database, or the transaction of one resolution. */
type Directory = Prisma.TransactionClient;

const roleLabels: Record<string, string> = {
  'manager-of-requester': "the requester's line manager",
  'manager-of-approver': "the approver's manager",
};

/** Person's and Delegation's columns by name (lib/db.ts columnsOf: never `*` in a prepared statement). */
const personColumns = columnsOf('p', Prisma.PersonScalarFieldEnum);
const delegationColumns = columnsOf('d', Prisma.DelegationScalarFieldEnum);

type Person = Prisma.PersonGetPayload<object>;
type Delegation = Prisma.DelegationGetPayload<object>;

/*
 * The directory reads of a step's opening, each one raw statement (Prisma compiles every model query anew, and a
 * step makes several of these): each gives exactly what the model query named beside it gives, held equal by
 * test/api/raw-statements.test.ts.
 */

/** As `person.findUnique({ where: { email } })`, the address lower-cased. */
export async function personByEmail(db: Directory, email: string): Promise<Person | null> {
  const [person] = await db.$queryRaw<Person[]>`SELECT ${personColumns} FROM "Person" p WHERE p.email = ${email.toLowerCase()}`;
  return person ?? null;
}

/** As `person.findMany({ where: { roles: { has: role } }, orderBy: { email: 'asc' } })`. */
export async function roleHolders(db: Directory, role: string): Promise<Person[]> {
  return db.$queryRaw<Person[]>`SELECT ${personColumns} FROM "Person" p WHERE p.roles @> ARRAY[${role}]::text[] ORDER BY p.email ASC`;
}

/**
 * As `delegation.findMany({ where: { personEmail: { in: emails }, startsAt: { lte: at }, endsAt: { gt: at } },
 * orderBy: { createdAt: 'desc' } })`.
 */
export async function delegationsActiveAt(db: Directory, emails: string[], at: Date): Promise<Delegation[]> {
  return db.$queryRaw<Delegation[]>`
    SELECT ${delegationColumns} FROM "Delegation" d
    WHERE d."personEmail" = ANY(${emails}::text[]) AND d."startsAt" <= ${sqlTimestamp(at)} AND d."endsAt" > ${sqlTimestamp(at)}
    ORDER BY d."createdAt" DESC`;
}

/** The people a seat can go to, in order, for one role reference; empty with a reason when there is nobody. */
export interface SeatCandidates {
  role: string;
  candidates: Candidate[];
  missing?: string;
}

/**
 * Up the manager chain from `person` (their manager first), stopping at the top, at a loop in the data or after 20
 * managers: one recursive query instead of a read per manager.
 */
async function managersAbove(db: Directory, person: Person): Promise<Person[]> {
  if (!person.managerEmail) return [];
  return db.$queryRaw<Person[]>`
    WITH RECURSIVE up AS (
      SELECT p.email, p."managerEmail", 0 AS depth, ARRAY[p.email] AS seen FROM "Person" p WHERE p.email = ${person.email}
      UNION ALL
      SELECT m.email, m."managerEmail", up.depth + 1, up.seen || m.email
      FROM up JOIN "Person" m ON m.email = lower(up."managerEmail")
      WHERE up.depth < 20 AND m.email <> ALL(up.seen)
    )
    SELECT ${personColumns} FROM up JOIN "Person" p ON p.email = up.email WHERE up.depth > 0 ORDER BY up.depth`;
}

/** The people a role reference names right now: the role's holders, the person, or the subject's manager. */
async function peopleFor(db: Directory, role: string, subjectEmail: string): Promise<Person[]> {
  if (role === 'manager-of-requester' || role === 'manager-of-approver') {
    const subject = await personByEmail(db, subjectEmail);
    const manager = subject?.managerEmail ? await personByEmail(db, subject.managerEmail) : null;
    return manager ? [manager] : [];
  }
  if (role.startsWith('role:')) return roleHolders(db, role.slice(5));
  if (role.startsWith('person:')) {
    const person = await personByEmail(db, role.slice(7));
    return person ? [person] : [];
  }
  return [];
}

/**
 * Whoever stands in for a person right now (their newest active delegation), read for all of a step's candidates
 * at once (`prefetch`) and for anyone further down a delegation chain as it is followed.
 */
class ActiveDelegations {
  private readonly delegateOf = new Map<string, string | null>();
  private readonly now = new Date();

  constructor(private readonly db: Directory) {}

  async prefetch(emails: string[]): Promise<void> {
    const unknown = [...new Set(emails.map((e) => e.toLowerCase()))].filter((e) => !this.delegateOf.has(e));
    if (unknown.length === 0) return;
    const active = await delegationsActiveAt(this.db, unknown, this.now);
    for (const email of unknown) this.delegateOf.set(email, active.find((d) => d.personEmail.toLowerCase() === email)?.delegateEmail ?? null);
  }

  async of(email: string): Promise<Person | null> {
    await this.prefetch([email]);
    const delegate = this.delegateOf.get(email.toLowerCase());
    return delegate ? personByEmail(this.db, delegate) : null;
  }
}

/**
 * Who actually holds a seat meant for `person`: out-of-office delegations are followed (A away → B away → C gives
 * C, on behalf of A); a chain that comes back on itself means nobody in it is available.
 */
async function delegateOf(delegations: ActiveDelegations, person: Person, role: string): Promise<Candidate> {
  const chain = [person];
  for (;;) {
    const delegate = await delegations.of(chain.at(-1)!.email);
    if (!delegate) break;
    if (chain.some((p) => p.email === delegate.email) || chain.length >= 10) {
      const names = [...chain, delegate].map((p) => p.name).join(' → ');
      return { email: person.email, name: person.name, role, unavailable: `is away, and the delegations ${names} go round in a circle` };
    }
    chain.push(delegate);
  }
  const holder = chain.at(-1)!;
  if (holder === person) return { email: person.email, name: person.name, role };
  return { email: holder.email, name: holder.name, role, onBehalfOf: { email: person.email, name: person.name } };
}

/** `each-role:<role>` stands for every holder of the role (one seat each), in e-mail order. */
async function expandRoles(db: Directory, roles: string[]): Promise<string[]> {
  const expanded: string[] = [];
  for (const role of roles) {
    if (!role.startsWith('each-role:')) {
      expanded.push(role);
      continue;
    }
    const holders = await roleHolders(db, role.slice(10));
    expanded.push(...holders.map((p) => `person:${p.email}`));
  }
  return expanded;
}

/**
 * For each seat a step's role references give (each-role expanded), everyone who could take it, most fitting
 * first: the role's holders (or the person, or the manager), then up the first one's manager chain, each with
 * their delegations followed. The workflow takes the first one separation of duties allows.
 */
export async function approverCandidates(db: Directory, request: { roles: string[]; subjectEmail: string; managerChain?: boolean }): Promise<SeatCandidates[]> {
  const seats: SeatCandidates[] = [];
  const delegations = new ActiveDelegations(db);
  for (const role of await expandRoles(db, request.roles)) {
    const direct = await peopleFor(db, role, request.subjectEmail);
    if (direct.length === 0) {
      seats.push({ role, candidates: [], missing: `no one in the directory is ${roleLabels[role] ?? role} (subject ${request.subjectEmail})` });
      continue;
    }
    const people = request.managerChain === false ? direct : [...direct, ...(await managersAbove(db, direct[0]!))];
    const unique = people.filter((person, i) => people.findIndex((p) => p.email === person.email) === i);
    await delegations.prefetch(unique.map((p) => p.email));
    const candidates: Candidate[] = [];
    for (const person of unique) candidates.push(await delegateOf(delegations, person, role));
    seats.push({ role, candidates });
  }
  return seats;
}
