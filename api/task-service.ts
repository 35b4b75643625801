import { randomUUID } from 'node:crypto';
import type { Db } from '../lib/db.js';
import type { Run, Task } from '../lib/generated/prisma/client.js';
import { findProcess } from '../processes/index.js';
import {
  CLAIM_TASK_UPDATE,
  COMPLETE_TASK_UPDATE,
  HAND_BACK_TASK_UPDATE,
  REASSIGN_TASK_UPDATE,
  TaskRefusal,
  UNCLAIM_TASK_UPDATE,
  type ReassignTaskInput,
  type TaskChannel,
  type TaskPerson,
  type TaskState,
} from '../processes/task-messages.js';
import type { TaskDefinition } from '../processes/types.js';
import { auditDutyRefusal } from './approval-service.js';
import type { ApiContext } from './context.js';
import { checkFormValues } from './form-fields.js';
import { closedOrUnavailable, executeRunUpdate, notDoneText, runNoLongerActs, type RunActor, type UnansweredAction } from './run-updates.js';

/**
 * Every channel's way to act on a human task (its link's page, My approvals, the JSON API): the completion form is
 * checked with the task's own zod schema here, then the action goes to the run as an Update, whose validator decides
 * (who holds it, who may take it, separation of duties). The answer says what happened, in terms each channel shows.
 */

export type TaskWithRun = Task & { run: Run };

/** Who acts, through which channel, from where. */
export type TaskActor = RunActor<TaskChannel>;

export type TaskActionKind = 'claim' | 'unclaim' | 'hand_back' | 'complete';

export type TaskActionOutcome =
  | { kind: 'done'; state: TaskState }
  /** Someone else holds it (a claim race's loser, or a late completion): who. */
  | { kind: 'held_by_other'; holder: TaskPerson }
  /** Completed already, by someone else or by an earlier submit of the same person. */
  | { kind: 'already_completed'; by: string }
  /** The form (or the hand back's reason) has errors, by field; nothing was sent to the run. */
  | { kind: 'invalid_form'; errors: Record<string, string> }
  | { kind: 'refused'; refusal: TaskRefusal; message: string }
  /** Closed without being done (or its run is over), not confirmed in time, or not deliverable. */
  | UnansweredAction;

const taskRefusals = new Set<string>(Object.values(TaskRefusal));

export function taskDefinitionOf(task: TaskWithRun): TaskDefinition | undefined {
  return findProcess(task.run.process)?.tasks?.[task.taskKey];
}

/** Why nobody can act on a task any more, from the records; undefined while it is open. */
export function closedBecause(task: TaskWithRun): TaskActionOutcome | undefined {
  if (task.status === 'completed') return { kind: 'already_completed', by: task.holderName ?? task.completedBy ?? 'someone' };
  if (task.status === 'cancelled') return { kind: 'closed', reason: task.closedReason ?? 'it was closed' };
  const ended = runNoLongerActs(task.run);
  return ended ? { kind: 'closed', reason: ended } : undefined;
}

export function findTask(db: Db, taskId: string): Promise<TaskWithRun | null> {
  return db.task.findUnique({ where: { id: taskId }, include: { run: true } });
}

/** The people the task is offered to now: everyone whose link still works. */
export async function offeredTo(db: Db, taskId: string): Promise<TaskPerson[]> {
  const links = await db.approvalRequest.findMany({ where: { kind: 'task', stepId: taskId, usedAt: null, revokedAt: null }, orderBy: { approverEmail: 'asc' } });
  return links.map((l) => ({ email: l.approverEmail, name: l.approverName }));
}

/** The open tasks a person may act on: those they hold, and those offered to their group that nobody holds yet. */
export async function openTasksFor(db: Db, email: string): Promise<TaskWithRun[]> {
  const me = email.toLowerCase();
  const offered = await db.approvalRequest.findMany({ where: { kind: 'task', approverEmail: me, usedAt: null, revokedAt: null }, select: { stepId: true } });
  return db.task.findMany({
    where: {
      run: { status: 'running' },
      OR: [{ holderEmail: me, status: { in: ['claimed', 'assigned'] } }, { status: 'open', id: { in: offered.map((o) => o.stepId) } }],
    },
    include: { run: true },
    orderBy: [{ dueAt: 'asc' }, { id: 'asc' }],
    take: 200,
  });
}

/** What a person may do with the task now, for the page's buttons (the workflow decides when they press one). */
export function allowedActions(task: TaskWithRun, email: string, offered: boolean) {
  const holds = task.holderEmail?.toLowerCase() === email.toLowerCase() && !closedBecause(task);
  const mayTake = task.status === 'open' && offered && !closedBecause(task);
  return { claim: mayTake, complete: holds || mayTake, unclaim: holds && task.candidateGroup !== null, handBack: holds };
}

/**
 * Claims, unclaims, hands back or completes a task as `actor`. A completion's values are checked with the task's
 * form first (field errors, nothing sent); its Update id is the task's, so a double submit completes it once and the
 * nonce tells whose completion won. Claims use ids of their own, so two people claiming at once are decided by the
 * workflow's validator: one holds it, the other is told who.
 */
export async function actOnTask(
  ctx: ApiContext,
  task: TaskWithRun,
  action: TaskActionKind,
  actor: TaskActor,
  extra: { reason?: string; values?: unknown } = {},
): Promise<TaskActionOutcome> {
  const closed = closedBecause(task);
  if (closed) return closed;
  const base = { taskId: task.id, actorEmail: actor.email, channel: actor.channel, ip: actor.ip, userAgent: actor.userAgent?.slice(0, 500) };
  if (action === 'complete') {
    const definition = taskDefinitionOf(task);
    if (!definition) return { kind: 'refused', refusal: TaskRefusal.invalid, message: `The process has no form for task ${task.taskKey}` };
    const checked = checkFormValues(definition.validatorFor(task.run.input), extra.values ?? {});
    if (!checked.ok) return { kind: 'invalid_form', errors: checked.errors };
    const nonce = randomUUID();
    const outcome = await sendTaskUpdate(ctx, task, COMPLETE_TASK_UPDATE, { ...base, values: checked.data, nonce }, `${task.id}:complete`, actor, action);
    if (outcome.kind === 'done' && outcome.state.nonce !== nonce) return { kind: 'already_completed', by: outcome.state.holder?.name ?? outcome.state.completedBy ?? 'someone' };
    return outcome;
  }
  if (action === 'hand_back') {
    const reason = extra.reason?.trim() ?? '';
    if (!reason) return { kind: 'invalid_form', errors: { reason: 'Say why you hand it back: whoever gets it next reads it' } };
    return sendTaskUpdate(ctx, task, HAND_BACK_TASK_UPDATE, { ...base, reason: reason.slice(0, 2000) }, `${task.id}:hand-back:${randomUUID()}`, actor, action);
  }
  const update = action === 'claim' ? CLAIM_TASK_UPDATE : UNCLAIM_TASK_UPDATE;
  return sendTaskUpdate(ctx, task, update, base, `${task.id}:${action}:${randomUUID()}`, actor, action);
}

/** Ops staff give the task to another person (scope runs:manage). */
export function reassignTask(ctx: ApiContext, task: TaskWithRun, input: ReassignTaskInput, actor: TaskActor): Promise<TaskActionOutcome> {
  const closed = closedBecause(task);
  if (closed) return Promise.resolve(closed);
  return sendTaskUpdate(ctx, task, REASSIGN_TASK_UPDATE, input, `${task.id}:reassign:${randomUUID()}`, actor, 'reassign');
}

async function sendTaskUpdate(
  ctx: ApiContext,
  task: TaskWithRun,
  update: string,
  arg: unknown,
  updateId: string,
  actor: TaskActor,
  action: TaskActionKind | 'reassign',
): Promise<TaskActionOutcome> {
  const answer = await executeRunUpdate<TaskState>(ctx, task.runId, update, arg, updateId);
  if (answer.kind === 'done') return { kind: 'done', state: answer.result };
  if (answer.kind === 'pending') return answer;
  const cause = answer.kind === 'refused' ? answer.cause : undefined;
  if (cause?.type === TaskRefusal.heldByOther) return { kind: 'held_by_other', holder: (cause.details?.[0] ?? { email: '', name: 'someone else' }) as TaskPerson };
  if (cause?.type === TaskRefusal.separationOfDuties) {
    // The validator writes nothing: the attempt is evidence, so the API records it.
    await auditDutyRefusal(ctx, task, { actor: actor.email, action: action === 'complete' ? 'complete' : action === 'reassign' ? 'reassign' : 'claim', channel: actor.channel, ip: actor.ip }, cause.message, 'task');
  }
  if (cause?.type && taskRefusals.has(cause.type) && cause.type !== TaskRefusal.notOpen) return { kind: 'refused', refusal: cause.type as TaskRefusal, message: cause.message };
  // Closed meanwhile (completed, the run moved on or ended): say so from the records, or from the run's refusal.
  return closedOrUnavailable(ctx, answer, () => findTask(ctx.db, task.id), closedBecause, { taskId: task.id });
}

/** One line saying why an action did not happen, for pages and JSON errors alike. */
export function outcomeText(outcome: Exclude<TaskActionOutcome, { kind: 'done' }>): string {
  switch (outcome.kind) {
    case 'held_by_other':
      return `${outcome.holder.name} (${outcome.holder.email}) already holds this task.`;
    case 'already_completed':
      return `This task was already completed by ${outcome.by}.`;
    default:
      return notDoneText('task', outcome);
  }
}
