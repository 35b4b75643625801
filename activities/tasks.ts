import type { Prisma } from '../lib/db.js';
import type { Task } from '../lib/generated/prisma/client.js';
import { extendRunInput } from '../lib/run-record.js';
import type { SkippedCandidate } from '../processes/controls.js';
import { findProcess } from '../processes/index.js';
import { taskLinkId, type TaskChannel, type TaskStatus } from '../processes/task-messages.js';
import { linkFor, recordLinkRequest } from './approvals.js';
import type { ActivityDeps } from './deps.js';
import { sendEmailOnce } from './email.js';
import { writeAudit, type Approver } from './records.js';
import { taskEmail, type TaskMailKind } from './task-emails.js';

/** A task as the workflow holds it at one change: the read model keeps the snapshot with the highest `seq`. */
export interface TaskSnapshot {
  taskId: string;
  runId: string;
  key: string;
  stepId: string;
  seq: number;
  round: number;
  status: TaskStatus;
  holder: Approver | null;
  firstClaimedAt: number | null;
  completedAt: number | null;
  completedBy: string | null;
  values: Record<string, unknown> | null;
  escalatedTo: string | null;
  closedReason: string | null;
}

export type TaskAction = 'claimed' | 'unclaimed' | 'handed_back' | 'completed' | 'reassigned' | 'escalated' | 'escalation_failed' | 'cancelled';

/** One change of a task, as its audit entry tells it. */
export interface TaskChange {
  action: TaskAction;
  actor: string;
  channel?: TaskChannel;
  ip?: string;
  userAgent?: string;
  reason?: string;
  /** The people it is now offered to: each gets a link of this round; the links of earlier rounds stop working. */
  offeredTo?: Approver[];
  /** Everyone it is still offered to is told it is open again (a hand back to its group). */
  tellAudience?: boolean;
  /** Who held it before this change (a hand back, a reassignment, an escalation): the mail and the audit name them. */
  previousHolder?: { email: string; name: string };
  details?: Record<string, unknown>;
}

export interface OpenTaskRecord {
  task: TaskSnapshot;
  title: string;
  instructions: string;
  /** The role of the candidate group, without "role:"; null for a task given to a person. */
  candidateGroup: string | null;
  dueAt: number;
  followUpAt: number | null;
  audience: Approver[];
  /** People of the group (or the assignee's line) separation of duties passed over. */
  skipped: SkippedCandidate[];
}

/** Links close with their task; this only bounds one that a lost record left open. */
const LINK_GRACE_MS = 90 * 86_400_000;

const closedStatuses = new Set<TaskStatus>(['completed', 'cancelled']);

/** The read model's columns from a snapshot. */
function rowOf(task: TaskSnapshot) {
  return {
    status: task.status,
    seq: task.seq,
    holderEmail: task.holder?.email ?? null,
    holderName: task.holder?.name ?? null,
    firstClaimedAt: task.firstClaimedAt === null ? null : new Date(task.firstClaimedAt),
    completedAt: task.completedAt === null ? null : new Date(task.completedAt),
    completedBy: task.completedBy,
    escalatedTo: task.escalatedTo,
    closedReason: task.closedReason,
    ...(task.values ? { result: task.values as Prisma.InputJsonValue } : {}),
  };
}

/** The mail a person gets when a change offers them the task. */
function offerMail(action: TaskAction, toGroup: boolean): TaskMailKind {
  if (action === 'escalated' || action === 'reassigned') return action;
  if (action === 'handed_back') return 'handed-back';
  return toGroup ? 'offered' : 'assigned';
}

const liveLinks = (taskId: string) => ({ kind: 'task', stepId: taskId, usedAt: null, revokedAt: null }) as const;

/**
 * Human tasks' records (workflows/tasks.ts): the read model, the links (approval-link rows of kind "task", one per
 * person offered it, same token protocol: random, hashed, single use), the mails and the audit. Every activity is
 * safe to retry: rows and mails are keyed by the task, its round and its change counter.
 */
export function createTaskActivities(deps: ActivityDeps) {
  const { db } = deps;

  /** What a task's mails show about its run: the process, the run and the facts approvers see. */
  async function mailContext(runId: string) {
    const run = await db.run.findUniqueOrThrow({ where: { id: runId } });
    const process = findProcess(run.process);
    return { runTitle: run.title, processTitle: process?.title ?? run.process, details: process ? process.describe(run.input) : [] };
  }

  /** Mints a link of this round for each person and mails it (once per link and kind). */
  async function offer(task: Task, round: number, people: Approver[], kind: TaskMailKind, extra: { from?: string; reason?: string } = {}): Promise<void> {
    const context = await mailContext(task.runId);
    for (const person of people) {
      const id = taskLinkId(task.id, round, person.email);
      const link = await recordLinkRequest(deps, {
        id,
        runId: task.runId,
        kind: 'task',
        stepId: task.id,
        stepTitle: task.title,
        round,
        approverEmail: person.email.toLowerCase(),
        approverName: person.name,
        approverRole: person.role,
        onBehalfOf: person.onBehalfOf?.email ?? null,
        expiresAt: new Date(task.dueAt.getTime() + LINK_GRACE_MS),
      });
      const { sent } = await sendEmailOnce(deps, {
        idempotencyKey: `${id}:${kind}`,
        runId: task.runId,
        kind: `task.${kind}`,
        to: person.email,
        email: taskEmail({ kind, personName: person.name, title: task.title, instructions: task.instructions, dueAt: task.dueAt, group: task.candidateGroup, onBehalfOf: person.onBehalfOf?.name, link, ...context, ...extra }),
      });
      if (sent) await db.approvalRequest.update({ where: { id }, data: { emailSentAt: new Date() } });
    }
  }

  /** Mails everyone whose link still works (or only the holder's, when someone holds it). */
  async function mailAudience(task: Task, kind: TaskMailKind, key: string, extra: { from?: string; reason?: string; onlyHolder?: boolean; except?: string } = {}): Promise<string[]> {
    const links = await db.approvalRequest.findMany({ where: liveLinks(task.id), orderBy: { approverEmail: 'asc' } });
    const holders = links.filter((l) => l.approverEmail === task.holderEmail?.toLowerCase());
    const to = (extra.onlyHolder && holders.length ? holders : links).filter((l) => l.approverEmail !== extra.except?.toLowerCase());
    const context = await mailContext(task.runId);
    for (const row of to) {
      await sendEmailOnce(deps, {
        idempotencyKey: `${row.id}:${key}`,
        runId: task.runId,
        kind: `task.${kind}`,
        to: row.approverEmail,
        email: taskEmail({ kind, personName: row.approverName, title: task.title, instructions: task.instructions, dueAt: task.dueAt, group: task.candidateGroup, link: await linkFor(deps, row), ...context, ...extra }),
      });
    }
    return to.map((l) => l.approverEmail);
  }

  /** The task's working links (of rounds before `beforeRound`, when given) stop working, with the reason their page shows. */
  async function revokeLinks(taskId: string, reason: string, beforeRound?: number): Promise<void> {
    const earlier = beforeRound === undefined ? {} : { round: { lt: beforeRound } };
    await db.approvalRequest.updateMany({ where: { ...liveLinks(taskId), ...earlier }, data: { revokedAt: new Date(), revokedReason: reason } });
  }

  return {
    /** Records the task, offers it (a link and a mail per person) and audits it. */
    async openTask(record: OpenTaskRecord): Promise<void> {
      const { task } = record;
      const row = await db.task.upsert({
        where: { id: task.taskId },
        create: {
          id: task.taskId,
          runId: task.runId,
          taskKey: task.key,
          stepId: task.stepId,
          title: record.title,
          instructions: record.instructions,
          candidateGroup: record.candidateGroup,
          dueAt: new Date(record.dueAt),
          followUpAt: record.followUpAt === null ? null : new Date(record.followUpAt),
          ...rowOf(task),
        },
        update: {},
      });
      await offer(row, task.round, record.audience, record.candidateGroup ? 'offered' : 'assigned');
      await writeAudit(deps, {
        eventKey: `${task.taskId}:${task.seq}:created`,
        runId: task.runId,
        action: 'task.created',
        actor: 'opsflow',
        step: task.stepId,
        details: {
          taskId: task.taskId,
          title: record.title,
          ...(record.candidateGroup ? { candidateGroup: record.candidateGroup } : { assignee: task.holder?.email }),
          offeredTo: record.audience.map((p) => p.email),
          dueAt: new Date(record.dueAt).toISOString(),
          ...(record.followUpAt !== null ? { followUpAt: new Date(record.followUpAt).toISOString() } : {}),
          ...(record.skipped.length ? { skipped: record.skipped.map((s) => ({ email: s.email, reason: s.reason, rule: 'separation of duties' })) } : {}),
        },
      });
    },

    /** A change of the task: the read model (newest change wins), its links and mails, and its audit entry. */
    async recordTaskChange(change: TaskChange & { task: TaskSnapshot }): Promise<void> {
      const { task } = change;
      await db.task.updateMany({
        where: { id: task.taskId, seq: { lt: task.seq } },
        data: { ...rowOf(task), ...(change.action === 'escalated' ? { escalatedAt: new Date() } : {}) },
      });
      const row = await db.task.findUniqueOrThrow({ where: { id: task.taskId } });
      const holderName = task.holder?.name ?? '';
      const from = { from: change.previousHolder?.name, reason: change.reason };
      if (change.offeredTo) {
        await revokeLinks(task.taskId, task.holder ? `the task was ${change.action === 'escalated' ? 'escalated' : 'given'} to ${holderName}` : 'the task went back to its group', task.round);
        await offer(row, task.round, change.offeredTo, offerMail(change.action, task.holder === null), from);
      }
      if (change.tellAudience) await mailAudience(row, 'handed-back', `handed-back:${task.seq}`, { ...from, except: change.actor });
      if (change.action === 'completed') {
        await db.approvalRequest.updateMany({ where: { ...liveLinks(task.taskId), approverEmail: task.completedBy?.toLowerCase() }, data: { usedAt: new Date(task.completedAt ?? Date.now()), decidedBy: task.completedBy } });
        await revokeLinks(task.taskId, `the task was completed by ${holderName}`);
      }
      if (change.action === 'cancelled') await revokeLinks(task.taskId, change.reason ?? 'the task was closed');
      await writeAudit(deps, {
        eventKey: `${task.taskId}:${task.seq}:${change.action}`,
        runId: task.runId,
        action: `task.${change.action}`,
        actor: change.actor,
        onBehalfOf: task.holder?.onBehalfOf?.email,
        step: task.stepId,
        ip: change.ip,
        userAgent: change.userAgent,
        at: change.action === 'completed' ? (task.completedAt ?? undefined) : undefined,
        details: {
          taskId: task.taskId,
          status: task.status,
          holder: task.holder?.email ?? null,
          ...(change.channel ? { channel: change.channel } : {}),
          ...(change.reason ? { reason: change.reason } : {}),
          ...(change.action === 'completed' ? { values: task.values } : {}),
          ...(change.previousHolder ? { from: change.previousHolder.email } : {}),
          ...change.details,
        },
      });
    },

    /** A follow-up before the due date, or the n-th reminder once overdue: to the holder, or the whole group. */
    async remindTask(request: { taskId: string; kind: 'follow-up' | 'overdue'; number: number }): Promise<void> {
      const task = await db.task.findUniqueOrThrow({ where: { id: request.taskId } });
      if (closedStatuses.has(task.status as TaskStatus)) return;
      const key = `${request.kind}:${request.number}`;
      const to = await mailAudience(task, request.kind, key, { onlyHolder: true });
      if (request.kind === 'overdue') await db.task.update({ where: { id: task.id }, data: { remindersSent: { increment: task.remindersSent < request.number ? 1 : 0 } } });
      await writeAudit(deps, {
        eventKey: `${task.id}:${key}`,
        runId: task.runId,
        action: request.kind === 'overdue' ? 'task.reminded' : 'task.followed_up',
        actor: 'opsflow',
        step: task.stepId,
        details: { taskId: task.id, to, dueAt: task.dueAt.toISOString(), ...(request.kind === 'overdue' ? { reminderNumber: request.number } : {}) },
      });
    },

    /**
     * The run no longer needs these tasks (they are closed already): whoever completed one, or held one open, is
     * told to undo what they did, and it is audited as task.recalled. Nobody else did anything, so nobody else hears.
     */
    async recallTasks(request: { runId: string; taskIds: string[]; reason: string }): Promise<void> {
      const tasks = await db.task.findMany({ where: { id: { in: request.taskIds }, holderEmail: { not: null } }, orderBy: { id: 'asc' } });
      const context = tasks.length ? await mailContext(request.runId) : undefined;
      for (const task of tasks) {
        const completed = task.status === 'completed';
        await sendEmailOnce(deps, {
          idempotencyKey: `${task.id}:recalled`,
          runId: task.runId,
          kind: 'task.recalled',
          to: task.holderEmail!,
          email: taskEmail({ kind: 'recalled', personName: task.holderName ?? task.holderEmail!, title: task.title, instructions: task.instructions, dueAt: task.dueAt, completed, reason: request.reason, ...context! }),
        });
        await writeAudit(deps, {
          eventKey: `${task.id}:recalled`,
          runId: task.runId,
          action: 'task.recalled',
          actor: 'opsflow',
          step: task.stepId,
          details: { taskId: task.id, to: task.holderEmail, completed, reason: request.reason },
        });
      }
    },

    /**
     * Puts what the run's tasks came to under `field` of the run's input, so the next approver's page and mail show
     * it and their decision's version covers it (a new facts version). `stepId` keys the audit entry.
     */
    async recordTaskSummary(request: { runId: string; stepId: string; field: string; summary: unknown }): Promise<void> {
      await db.$transaction((tx) => extendRunInput(tx, request.runId, request.field, request.summary));
      await writeAudit(deps, {
        eventKey: `${request.runId}:${request.stepId}:tasks.summarized`,
        runId: request.runId,
        action: 'tasks.summarized',
        actor: 'opsflow',
        step: request.stepId,
        details: { field: request.field, summary: request.summary },
      });
    },
  };
}
