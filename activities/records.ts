import { ApplicationFailure } from '@temporalio/activity';
import { Prisma } from '../lib/db.js';
import { insertAuditEntry } from '../lib/outbound-webhooks.js';
import { runRow } from '../lib/run-record.js';
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

function auditRow(entry: AuditInput) {
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
  let result;
  try {
    result = await deps.db.$transaction((tx) => insertAuditEntry(tx, auditRow(entry)));
  } catch (error) {
    // A concurrent attempt of the same activity wrote it first. Only that: any other duplicate (e.g. a chain seq)
    // would be an entry lost in silence, so it fails the activity, which retries it.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      if (await deps.db.auditEntry.findUnique({ where: { eventKey: entry.eventKey }, select: { id: true } })) return;
    }
    throw error;
  }
  await deps.wakeWebhookDeliveries(result.wake);
}

const roleLabels: Record<string, string> = {
  'manager-of-requester': "the requester's line manager",
  'manager-of-approver': "the approver's manager",
};

async function personByEmail(deps: ActivityDeps, email: string) {
  return deps.db.person.findUnique({ where: { email: email.toLowerCase() } });
}

/**
 * Turns a role reference from a process ("manager-of-requester", "role:cfo", "person:a@b.c") into a person from
 * the directory, at the moment the step opens. No match is a configuration problem: retrying cannot fix it.
 */
export function createRecordActivities(deps: ActivityDeps) {
  return {
    /** With `audit`, the change and its audit entry commit together: nobody sees one without the other. */
    async updateRun(update: RunUpdate & { audit?: AuditInput }): Promise<void> {
      const data = {
        ...(update.status ? { status: update.status } : {}),
        ...(update.currentStep !== undefined ? { currentStep: update.currentStep } : {}),
        ...(update.outcome ? { outcome: update.outcome } : {}),
        ...(update.failureReason ? { failureReason: update.failureReason } : {}),
        ...(update.closedAt ? { closedAt: new Date(update.closedAt) } : {}),
      };
      const { audit } = update;
      const wake = await deps.db.$transaction(async (tx) => {
        const run = await tx.run.update({ where: { id: update.runId }, data });
        if (!audit) return [];
        const written = await insertAuditEntry(tx, auditRow(audit));
        if (written.inserted && update.status && update.status !== 'running') deps.metrics?.runsClosed.inc({ process: run.process, outcome: update.status });
        return written.wake;
      });
      await deps.wakeWebhookDeliveries(wake);
    },

    async recordScheduledRun(request: { runId: string; processKey: string; input: unknown; settings: unknown; scheduleId: string }): Promise<void> {
      const process = findProcess(request.processKey);
      if (!process) throw ApplicationFailure.nonRetryable(`Unknown process ${request.processKey}`, 'UnknownProcess');
      const wake = await deps.db.$transaction(async (tx) => {
        if (await tx.run.findUnique({ where: { id: request.runId }, select: { id: true } })) return [];
        await tx.run.create({ data: runRow(process, request.runId, request.input, request.settings, { trigger: 'schedule', scheduleId: request.scheduleId }) });
        const started = await insertAuditEntry(tx, {
          eventKey: `${request.runId}:run.started`,
          runId: request.runId,
          action: 'run.started',
          actor: `schedule:${request.scheduleId}`,
          details: { scheduleId: request.scheduleId },
        });
        return started.wake;
      });
      await deps.wakeWebhookDeliveries(wake);
    },

    async appendAudit(entry: AuditInput): Promise<void> {
      await writeAudit(deps, entry);
    },

    /** All seats of a step at once; the same person never holds two seats of one step. */
    async resolveApprovers(request: { roles: string[]; subjectEmail: string }): Promise<Approver[]> {
      const approvers: Approver[] = [];
      for (const role of await expandRoles(deps, request.roles)) {
        const approver = await resolveApprover(deps, { role, subjectEmail: request.subjectEmail });
        if (!approvers.some((a) => a.email === approver.email)) approvers.push(approver);
      }
      return approvers;
    },

    resolveApprover: (request: { role: string; subjectEmail: string }) => resolveApprover(deps, request),
  };
}

async function resolveApprover(deps: ActivityDeps, request: { role: string; subjectEmail: string }): Promise<Approver> {
  const { role, subjectEmail } = request;
  let person = null;
  if (role === 'manager-of-requester' || role === 'manager-of-approver') {
    const subject = await personByEmail(deps, subjectEmail);
    if (subject?.managerEmail) person = await personByEmail(deps, subject.managerEmail);
  } else if (role.startsWith('role:')) {
    person = await deps.db.person.findFirst({ where: { roles: { has: role.slice(5) } }, orderBy: { email: 'asc' } });
  } else if (role.startsWith('person:')) {
    person = await personByEmail(deps, role.slice(7));
  }
  if (!person) {
    const label = roleLabels[role] ?? role;
    throw ApplicationFailure.nonRetryable(
      `No approver found for ${label} (subject ${subjectEmail}); add them to the directory`,
      'ApproverNotFound',
      { role, subjectEmail },
    );
  }
  const delegate = await activeDelegate(deps, person.email);
  if (delegate) return { email: delegate.email, name: delegate.name, role, onBehalfOf: { email: person.email, name: person.name } };
  return { email: person.email, name: person.name, role };
}

/** `each-role:<role>` stands for every holder of the role (one seat each), in e-mail order. */
async function expandRoles(deps: ActivityDeps, roles: string[]): Promise<string[]> {
  const expanded: string[] = [];
  for (const role of roles) {
    if (!role.startsWith('each-role:')) {
      expanded.push(role);
      continue;
    }
    const holders = await deps.db.person.findMany({ where: { roles: { has: role.slice(10) } }, orderBy: { email: 'asc' } });
    expanded.push(...holders.map((p) => `person:${p.email}`));
  }
  return expanded;
}

/** Whoever stands in for `email` right now (one level: a delegate's own absence is not followed). */
async function activeDelegate(deps: ActivityDeps, email: string) {
  const now = new Date();
  const delegation = await deps.db.delegation.findFirst({
    where: { personEmail: email, startsAt: { lte: now }, endsAt: { gt: now } },
    orderBy: { createdAt: 'desc' },
  });
  return delegation ? personByEmail(deps, delegation.delegateEmail) : null;
}
