/**
 * The contract between callers (link pages, My approvals, the JSON API) and the human-task desk in
 * workflows/tasks.ts: the Updates' names, their payloads and the refusals their validators raise. Pure and free of
 * zod, so the workflow bundle holds it and the API does not import workflow code.
 */
export const CLAIM_TASK_UPDATE = 'claimTask';
export const UNCLAIM_TASK_UPDATE = 'unclaimTask';
export const HAND_BACK_TASK_UPDATE = 'handBackTask';
export const COMPLETE_TASK_UPDATE = 'completeTask';
export const REASSIGN_TASK_UPDATE = 'reassignTask';
export const TASKS_QUERY = 'tasks';

/**
 * `open`: waits for someone of its candidate group to claim it; `claimed`: someone of the group holds it;
 * `assigned`: a person was given it (at the start, by reassignment or by escalation); `completed`: done, with the
 * form's values; `cancelled`: the process no longer needs it (the run moved on or ended).
 */
export type TaskStatus = 'open' | 'claimed' | 'assigned' | 'completed' | 'cancelled';
export const taskStatuses: readonly TaskStatus[] = ['open', 'claimed', 'assigned', 'completed', 'cancelled'];

/** Where an action came from, recorded as evidence in its audit entry: every channel goes through the same Update. */
export type TaskChannel = 'link' | 'inbox' | 'api';

export interface TaskPerson {
  email: string;
  name: string;
}

/** Who acts and from where; the API fills it in from the link, the session or the key. */
export interface TaskActionInput {
  taskId: string;
  actorEmail: string;
  channel: TaskChannel;
  ip?: string;
  userAgent?: string;
}

export interface HandBackTaskInput extends TaskActionInput {
  /** Why the holder cannot do it: told to whoever gets it next. */
  reason: string;
}

export interface CompleteTaskInput extends TaskActionInput {
  /** The completion form's values, already validated by the API with the task's own zod schema. */
  values: Record<string, unknown>;
  /** Chosen by the caller; echoed back so a caller can tell its own completion from an earlier duplicate. */
  nonce: string;
}

/** Ops staff give a task to someone else (scope runs:manage); their link replaces everyone else's. */
export interface ReassignTaskInput {
  taskId: string;
  toEmail: string;
  actorEmail: string;
  reason?: string;
}

/** What every task Update answers: the task as it stands after the action. */
export interface TaskState {
  taskId: string;
  status: TaskStatus;
  holder: TaskPerson | null;
  completedBy: string | null;
  /** The nonce of the completion that closed it, when one did. */
  nonce: string | null;
}

/** ApplicationFailure types the validators use to refuse a task action; the API maps each to an answer. */
export const TaskRefusal = {
  /** Completed, cancelled, or unknown to the run. */
  notOpen: 'TaskNotOpen',
  /** Someone else holds it; the failure's first detail is that person (TaskPerson). */
  heldByOther: 'TaskHeldByOther',
  /** Not in the task's candidate group and not its holder. */
  notCandidate: 'NotTaskCandidate',
  /** The action needs the task held by the actor (unclaim, hand back, complete a held task). */
  notHolder: 'NotTaskHolder',
  /** A task given to a person (not claimed from a group) cannot be unclaimed: hand it back instead. */
  noGroup: 'TaskHasNoGroup',
  /** Nobody eligible can take it (a hand back without a group, an escalation). */
  nobodyToTakeIt: 'NobodyToTakeTask',
  /** The requester, the run's starter, or someone standing in for them, where the process keeps them out. */
  separationOfDuties: 'SeparationOfDuties',
  invalid: 'InvalidTaskAction',
} as const;
export type TaskRefusal = (typeof TaskRefusal)[keyof typeof TaskRefusal];

/** One id per task the workflow opens: derived the same way by the workflow and the activities (their retries). */
export function humanTaskId(runId: string, key: string, occurrence: number): string {
  return `${runId}:task:${key}:${occurrence}`;
}

/** One link per person per round of people a task is offered to (a group, then a person it is given to, …). */
export function taskLinkId(taskId: string, round: number, email: string): string {
  return `${taskId}:r${round}:${email.toLowerCase()}`;
}
