import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Approver } from '../activities/records.js';
import type { TaskChange, TaskSnapshot } from '../activities/tasks.js';
import { candidateConflict, dutyConflict, type Candidate, type DutiesContext, type SkippedCandidate } from '../processes/controls.js';
import { durationMs } from '../processes/duration.js';
import { FailureType } from '../processes/failures.js';
import type { TaskTiming } from '../processes/policy.js';
import {
  CLAIM_TASK_UPDATE,
  COMPLETE_TASK_UPDATE,
  HAND_BACK_TASK_UPDATE,
  humanTaskId,
  REASSIGN_TASK_UPDATE,
  TASKS_QUERY,
  TaskRefusal,
  UNCLAIM_TASK_UPDATE,
  type CompleteTaskInput,
  type HandBackTaskInput,
  type ReassignTaskInput,
  type TaskActionInput,
  type TaskPerson,
  type TaskState,
  type TaskStatus,
} from '../processes/task-messages.js';
import { shortWork } from './run-lifecycle.js';

/** Every task action is an Update: its validator refuses it (closed task, someone else holds it, …) before anything is recorded. */
export const claimTaskUpdate = defineUpdate<TaskState, [TaskActionInput]>(CLAIM_TASK_UPDATE);
export const unclaimTaskUpdate = defineUpdate<TaskState, [TaskActionInput]>(UNCLAIM_TASK_UPDATE);
export const handBackTaskUpdate = defineUpdate<TaskState, [HandBackTaskInput]>(HAND_BACK_TASK_UPDATE);
export const completeTaskUpdate = defineUpdate<TaskState, [CompleteTaskInput]>(COMPLETE_TASK_UPDATE);
export const reassignTaskUpdate = defineUpdate<TaskState, [ReassignTaskInput]>(REASSIGN_TASK_UPDATE);
export const tasksQuery = defineQuery<TaskOutcome[]>(TASKS_QUERY);

/** What a process asks for when it opens a task. */
export interface TaskSpec {
  /** The process's task definition (ProcessDefinition.tasks) whose form completes it. */
  key: string;
  /** The process step it belongs to: its audit entries carry it, and the diagram shows it. */
  stepId: string;
  title: string;
  instructions: string;
  /** Who does it: one role reference ("person:x@y.z", "manager-of-requester", "role:cfo"), its first eligible person. */
  assignee?: string;
  /** Or a candidate group, a directory role ("role:marketing"): every eligible holder is offered it; one claims it. */
  candidateGroup?: string;
  dueAt: number;
  /** When to nudge whoever has it that the due date is coming (skipped when already past). */
  followUpAt?: number;
  timing: TaskTiming;
}

/** Who the run is for and whether its tasks keep the requester out (the process's separation of duties). */
export interface TaskDeskRun {
  runId: string;
  requesterEmail: string;
  /** Whose key started the run, when known; kept out like the requester. */
  startedBy?: string;
  /** The requester and the starter (and anyone standing in for them) may not claim, complete or be given a task. */
  keepRequesterOut: boolean;
}

/** A task as the process reads it, e.g. to show the open items to the next approver. */
export interface TaskOutcome {
  taskId: string;
  key: string;
  title: string;
  status: TaskStatus;
  candidateGroup: string | null;
  holder: Approver | null;
  dueAt: number;
  completedBy: string | null;
  completedAt: number | null;
  values: Record<string, unknown> | null;
}

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const same = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

function refuse(message: string, type: TaskRefusal, details: unknown[] = []): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true, details });
}

function toApprover(candidate: Candidate): Approver {
  return { email: candidate.email, name: candidate.name, role: candidate.role, ...(candidate.onBehalfOf ? { onBehalfOf: candidate.onBehalfOf } : {}) };
}

interface ActiveTask {
  id: string;
  spec: TaskSpec;
  status: TaskStatus;
  holder?: Approver;
  /** The candidate group's eligible members, resolved when the task opened. */
  group: Approver[];
  /** Whom its working links belong to: the whole group, or the one person it was given to. */
  offeredTo: 'group' | 'person';
  /** Counts the sets of people it was offered to; each set gets links of its own. */
  round: number;
  /** Counts its changes: the read model keeps the newest. */
  seq: number;
  escalated: boolean;
  firstClaimedAt?: number;
  completedBy?: string;
  completedAt?: number;
  values?: Record<string, unknown>;
  nonce?: string;
  escalatedTo?: string;
  closedReason?: string;
}

const isClosed = (task: ActiveTask) => task.status === 'completed' || task.status === 'cancelled';

/**
 * Human tasks, the building block beside the approval step: one desk per run owns its tasks' state and the
 * `claimTask`, `unclaimTask`, `handBackTask`, `completeTask` and `reassignTask` Updates, so every channel (link,
 * My approvals, the API) obeys the same rules. A task goes to one person or is offered to a candidate group, whose
 * members claim it (a race has one winner; the other is told who holds it); once overdue it reminds its holder
 * and then goes to its escalation target. The database holds the read model, links and audit, written by activities
 * in the order the changes happened.
 */
export class TaskDesk {
  private readonly tasks = new Map<string, ActiveTask>();
  private readonly occurrences = new Map<string, number>();
  private readonly watchers: Array<Promise<void>> = [];
  /** Records are written one after another, in the order the changes happened. */
  private tail: Promise<void> = Promise.resolve();
  private failure?: unknown;
  private readonly duties: DutiesContext;

  constructor(private readonly run: TaskDeskRun) {
    this.duties = { requesterEmail: run.requesterEmail, startedBy: run.startedBy, onePersonOneStep: false, decided: new Map() };
    setHandler(claimTaskUpdate, (input) => this.claim(input), { validator: (input) => this.validateClaim(input) });
    setHandler(unclaimTaskUpdate, (input) => this.unclaim(input), { validator: (input) => this.validateRelease(input, true) });
    setHandler(handBackTaskUpdate, (input) => this.handBack(input), { validator: (input) => this.validateHandBack(input) });
    setHandler(completeTaskUpdate, (input) => this.complete(input), { validator: (input) => this.validateComplete(input) });
    setHandler(reassignTaskUpdate, (input) => this.reassign(input), { validator: (input) => this.validateReassign(input) });
    setHandler(tasksQuery, () => [...this.tasks.values()].map((task) => this.outcomeOf(task)));
  }

  // ----- what a process calls ---------------------------------------------------------------------------------

  /** Opens a task: resolves who may do it, mails their links, and starts chasing its due date. Returns its id. */
  async open(spec: TaskSpec): Promise<string> {
    const occurrence = (this.occurrences.get(spec.key) ?? 0) + 1;
    this.occurrences.set(spec.key, occurrence);
    const task: ActiveTask = { id: humanTaskId(this.run.runId, spec.key, occurrence), spec, status: 'open', group: [], offeredTo: 'group', round: 1, seq: 1, escalated: false };
    const role = spec.candidateGroup ?? spec.assignee ?? 'manager-of-requester';
    // A group is every holder of the role; an assignee is the first eligible person the reference names.
    const [seat] = await shortWork().approverCandidates({ roles: [role], subjectEmail: this.run.requesterEmail, ...(spec.candidateGroup ? { managerChain: false } : {}) });
    const { eligible, skipped } = this.eligibleAmong(seat?.candidates ?? [], role);
    if (spec.candidateGroup) task.group = eligible;
    else if (eligible[0]) Object.assign(task, { holder: eligible[0], status: 'assigned', offeredTo: 'person' });
    else {
      const why = seat?.missing ?? skipped.map((s) => `${s.name} ${s.reason}`).join('; ');
      throw ApplicationFailure.nonRetryable(`Nobody can take the task "${spec.title}": ${why}`, FailureType.noEligibleApprover);
    }
    // Open for actions before the mail goes out: a person may click faster than the activity returns.
    this.tasks.set(task.id, task);
    log.info('task opened', { step: spec.stepId, taskId: task.id });
    await this.serially(() =>
      acts.openTask({
        task: this.snapshot(task),
        title: spec.title,
        instructions: spec.instructions,
        candidateGroup: spec.candidateGroup?.replace(/^role:/, '') ?? null,
        dueAt: spec.dueAt,
        followUpAt: spec.followUpAt ?? null,
        audience: this.audience(task),
        skipped,
      }),
    );
    this.watchers.push(
      this.chase(task).catch((error: unknown) => {
        // A cancelled run stops chasing; anything else fails the run where it waits for its tasks.
        if (!isCancellation(error)) this.failure ??= error;
      }),
    );
    return task.id;
  }

  /**
   * Waits until every one of the tasks is completed or closed, or until `until` (epoch ms; without it, as long as it
   * takes), or until `stopWhen` holds, whichever is first; returns the ids of those still open. Reminders and
   * escalation go on meanwhile.
   */
  async waitForAll(taskIds: string[], until?: number, stopWhen?: () => boolean): Promise<string[]> {
    const done = () => this.failure !== undefined || stopWhen?.() === true || taskIds.every((id) => isClosed(this.tasks.get(id)!));
    if (until === undefined) await condition(done);
    else if (until - Date.now() > 0) await condition(done, until - Date.now());
    if (this.failure !== undefined) throw this.failure;
    return taskIds.filter((id) => !isClosed(this.tasks.get(id)!));
  }

  /** The tasks as they stand, in the order given. */
  outcomes(taskIds: string[]): TaskOutcome[] {
    return taskIds.map((id) => this.outcomeOf(this.tasks.get(id)!));
  }

  /** Closes tasks the process no longer needs: their links stop working and say why. */
  async close(taskIds: string[], reason: string): Promise<void> {
    for (const id of taskIds) {
      const task = this.tasks.get(id);
      if (!task || isClosed(task)) continue;
      Object.assign(task, { status: 'cancelled', closedReason: reason });
      log.info('task closed', { step: task.spec.stepId, taskId: id, reason });
      await this.write(task, { action: 'cancelled', actor: 'opsflow', reason });
    }
  }

  /** Before the run ends (also when cancelled or failed): every task closed, every record written. */
  async closeAll(reason: string): Promise<void> {
    await this.close([...this.tasks.keys()], reason);
    await Promise.all(this.watchers);
    await this.tail;
  }

  // ----- claim, unclaim, hand back ----------------------------------------------------------------------------

  private openTask(taskId: string): ActiveTask {
    const task = this.tasks.get(taskId);
    if (!task) refuse('This task does not exist on the run', TaskRefusal.notOpen);
    if (task.status === 'completed') refuse(`This task was already completed by ${task.completedBy}`, TaskRefusal.notOpen);
    if (task.status === 'cancelled') refuse(`This task is closed: ${task.closedReason}`, TaskRefusal.notOpen);
    return task;
  }

  /** Separation of duties, where the process asks for it: the requester and the starter take no task of the run. */
  private refuseExcluded(email: string): void {
    const conflict = this.run.keepRequesterOut ? dutyConflict(email, '', this.duties) : undefined;
    if (conflict) refuse(`${email} ${conflict}: separation of duties`, TaskRefusal.separationOfDuties);
  }

  private refuseHeldByOther(task: ActiveTask, actorEmail: string): void {
    const holder = task.holder;
    if (holder && !same(holder.email, actorEmail)) refuse(`${holder.name} (${holder.email}) holds this task`, TaskRefusal.heldByOther, [{ email: holder.email, name: holder.name }]);
  }

  private member(task: ActiveTask, email: string): Approver | undefined {
    return task.group.find((person) => same(person.email, email));
  }

  private validateClaim(input: TaskActionInput): void {
    const task = this.openTask(input.taskId);
    this.refuseExcluded(input.actorEmail);
    this.refuseHeldByOther(task, input.actorEmail);
    if (!task.holder && !this.member(task, input.actorEmail)) refuse(`${input.actorEmail} is not in this task's group`, TaskRefusal.notCandidate);
  }

  private async claim(input: TaskActionInput): Promise<TaskState> {
    const task = this.tasks.get(input.taskId)!;
    // Set before anything is awaited: a claim racing this one meets a held task in its validator.
    if (task.holder) return this.stateOf(task);
    Object.assign(task, { holder: this.member(task, input.actorEmail)!, status: 'claimed' });
    task.firstClaimedAt ??= Date.now();
    log.info('task claimed', { step: task.spec.stepId, taskId: task.id });
    await this.write(task, { action: 'claimed', actor: input.actorEmail, ...this.evidence(input) });
    return this.stateOf(task);
  }

  private validateRelease(input: TaskActionInput, unclaim: boolean): void {
    const task = this.openTask(input.taskId);
    if (!same(task.holder?.email, input.actorEmail)) refuse(`${input.actorEmail} does not hold this task`, TaskRefusal.notHolder);
    if (unclaim && !task.spec.candidateGroup) refuse('This task was given to you, not claimed from a group: hand it back with a reason instead', TaskRefusal.noGroup);
  }

  private unclaim(input: TaskActionInput): Promise<TaskState> {
    return this.returnToGroup(this.tasks.get(input.taskId)!, { action: 'unclaimed', actor: input.actorEmail, ...this.evidence(input) });
  }

  private validateHandBack(input: HandBackTaskInput): void {
    this.validateRelease(input, false);
    if (!input.reason?.trim()) refuse('Say why you hand it back', TaskRefusal.invalid);
  }

  /** The holder cannot do it: back to its group, or, for a task given to a person, on to its escalation target. */
  private async handBack(input: HandBackTaskInput): Promise<TaskState> {
    const task = this.tasks.get(input.taskId)!;
    const change: TaskChange = { action: 'handed_back', actor: input.actorEmail, reason: input.reason.trim(), ...this.evidence(input) };
    if (task.spec.candidateGroup) return this.returnToGroup(task, change);
    const next = await this.escalationTarget(task);
    // A completion or a reassignment may have landed while the directory answered.
    if (isClosed(task) || !same(task.holder?.email, input.actorEmail)) refuse('This task is no longer yours to hand back', TaskRefusal.notHolder);
    if (!next) refuse('Nobody eligible can take this task over: ask the operations desk to reassign it', TaskRefusal.nobodyToTakeIt);
    return this.giveTo(task, next, change);
  }

  private async returnToGroup(task: ActiveTask, change: TaskChange): Promise<TaskState> {
    const reoffer = task.offeredTo !== 'group';
    const previousHolder = this.personOf(task.holder);
    Object.assign(task, { holder: undefined, status: 'open', offeredTo: 'group' });
    if (reoffer) task.round += 1;
    log.info('task returned to its group', { step: task.spec.stepId, taskId: task.id });
    await this.write(task, { ...change, previousHolder, ...(reoffer ? { offeredTo: this.audience(task) } : { tellAudience: change.action === 'handed_back' }) });
    return this.stateOf(task);
  }

  // ----- complete, reassign -----------------------------------------------------------------------------------

  private validateComplete(input: CompleteTaskInput): void {
    const task = this.openTask(input.taskId);
    this.refuseExcluded(input.actorEmail);
    this.refuseHeldByOther(task, input.actorEmail);
    if (!task.holder && !this.member(task, input.actorEmail)) refuse(`${input.actorEmail} is not in this task's group`, TaskRefusal.notCandidate);
    if (!input.values || typeof input.values !== 'object' || Array.isArray(input.values)) refuse('A completion carries the form’s values', TaskRefusal.invalid);
  }

  /** Validated by the API with the task's form; a group member may complete an unclaimed task (claiming it then). */
  private async complete(input: CompleteTaskInput): Promise<TaskState> {
    const task = this.tasks.get(input.taskId)!;
    const now = Date.now();
    if (!task.holder) {
      task.holder = this.member(task, input.actorEmail)!;
      task.firstClaimedAt ??= now;
    }
    Object.assign(task, { status: 'completed', completedBy: task.holder.email, completedAt: now, values: input.values, nonce: input.nonce });
    log.info('task completed', { step: task.spec.stepId, taskId: task.id, channel: input.channel });
    await this.write(task, { action: 'completed', actor: input.actorEmail, ...this.evidence(input) });
    return this.stateOf(task);
  }

  private validateReassign(input: ReassignTaskInput): void {
    const task = this.openTask(input.taskId);
    if (same(task.holder?.email, input.toEmail)) refuse(`${input.toEmail} already holds this task`, TaskRefusal.invalid);
    if (same(input.actorEmail, this.run.requesterEmail)) refuse('The requester cannot reassign the tasks of their own run', TaskRefusal.separationOfDuties);
    this.refuseExcluded(input.toEmail);
  }

  private async reassign(input: ReassignTaskInput): Promise<TaskState> {
    const task = this.tasks.get(input.taskId)!;
    const [target] = await shortWork().approverCandidates({ roles: [`person:${input.toEmail}`], subjectEmail: this.run.requesterEmail, managerChain: false });
    // It may have been completed or closed while the directory answered: refused with the reason.
    if (isClosed(task)) this.openTask(task.id);
    const candidate = target?.candidates[0];
    if (!candidate) refuse(`${input.toEmail} is not in the directory`, TaskRefusal.invalid);
    // The person may be away: their delegate would hold it, and must be eligible too.
    const conflict = this.conflictOf(candidate);
    if (conflict) refuse(`${candidate.name} ${conflict}`, TaskRefusal.separationOfDuties);
    return this.giveTo(task, toApprover(candidate), { action: 'reassigned', actor: input.actorEmail, ...(input.reason ? { reason: input.reason } : {}) });
  }

  /** The task goes to one person: the links of everyone else stop working, the new holder gets one. */
  private async giveTo(task: ActiveTask, person: Approver, change: TaskChange): Promise<TaskState> {
    const previousHolder = this.personOf(task.holder);
    Object.assign(task, { holder: person, status: 'assigned', offeredTo: 'person' });
    task.round += 1;
    log.info('task given to a person', { step: task.spec.stepId, taskId: task.id, action: change.action });
    await this.write(task, { ...change, previousHolder, offeredTo: [person], details: { ...change.details, to: person.email } });
    return this.stateOf(task);
  }

  // ----- due date, reminders, escalation ----------------------------------------------------------------------

  /** True when the task closed within `ms` (no timer when the moment has passed). */
  private async closesWithin(task: ActiveTask, ms: number): Promise<boolean> {
    if (ms <= 0 || isClosed(task)) return isClosed(task);
    return condition(() => isClosed(task), ms);
  }

  /** A follow-up before the due date; once overdue, reminders every `reminderEvery`, and escalation once. */
  private async chase(task: ActiveTask): Promise<void> {
    const { dueAt, followUpAt, timing } = task.spec;
    if (followUpAt !== undefined && followUpAt > Date.now() && followUpAt < dueAt) {
      if (await this.closesWithin(task, followUpAt - Date.now())) return;
      await this.serially(() => acts.remindTask({ taskId: task.id, kind: 'follow-up', number: 1 }));
    }
    const every = durationMs(timing.reminderEvery);
    let nextReminder = dueAt;
    let reminders = 0;
    for (;;) {
      const escalateAt = task.escalated ? Infinity : dueAt + durationMs(timing.escalateAfter);
      const next = Math.min(nextReminder, escalateAt);
      if (await this.closesWithin(task, next - Date.now())) return;
      if (next === escalateAt) {
        await this.escalate(task);
        nextReminder = Date.now() + every;
        continue;
      }
      reminders += 1;
      const number = reminders;
      await this.serially(() => acts.remindTask({ taskId: task.id, kind: 'overdue', number }));
      nextReminder += every;
    }
  }

  private async escalate(task: ActiveTask): Promise<void> {
    task.escalated = true;
    const next = await this.escalationTarget(task);
    if (isClosed(task)) return;
    if (!next) {
      await this.write(task, { action: 'escalation_failed', actor: 'opsflow', reason: `nobody eligible is ${task.spec.timing.escalateTo}` });
      return;
    }
    task.escalatedTo = next.email;
    await this.giveTo(task, next, { action: 'escalated', actor: 'opsflow' });
  }

  /** The first eligible person the task's escalation target names, other than whoever has it now. */
  private async escalationTarget(task: ActiveTask): Promise<Approver | undefined> {
    const { escalateTo } = task.spec.timing;
    const subject = task.holder?.email ?? task.group[0]?.email ?? this.run.requesterEmail;
    const [seat] = await shortWork().approverCandidates({ roles: [escalateTo === 'manager-of-holder' ? 'manager-of-approver' : escalateTo], subjectEmail: subject });
    const candidates = (seat?.candidates ?? []).filter((c) => !same(c.email, subject) && !same(c.email, task.holder?.email));
    return this.eligibleAmong(candidates, escalateTo).eligible[0];
  }

  // ----- people and records -----------------------------------------------------------------------------------

  private conflictOf(candidate: Candidate): string | undefined {
    if (candidate.unavailable) return candidate.unavailable;
    return this.run.keepRequesterOut ? candidateConflict(candidate, '', this.duties) : undefined;
  }

  /** The candidates separation of duties lets take the task (in the directory's order, each once), and who was passed over. */
  private eligibleAmong(candidates: Candidate[], role: string): { eligible: Approver[]; skipped: SkippedCandidate[] } {
    const eligible: Approver[] = [];
    const skipped: SkippedCandidate[] = [];
    for (const candidate of candidates) {
      const conflict = this.conflictOf(candidate);
      if (conflict) skipped.push({ email: candidate.email, name: candidate.name, role, reason: conflict });
      else if (!eligible.some((p) => same(p.email, candidate.email))) eligible.push(toApprover(candidate));
    }
    return { eligible, skipped };
  }

  private audience(task: ActiveTask): Approver[] {
    return task.offeredTo === 'group' ? task.group : task.holder ? [task.holder] : [];
  }

  private evidence(input: TaskActionInput): Pick<TaskChange, 'channel' | 'ip' | 'userAgent'> {
    return { channel: input.channel, ip: input.ip, userAgent: input.userAgent };
  }

  /** Records a change of the task (its snapshot taken now), after every change before it. */
  private write(task: ActiveTask, change: TaskChange): Promise<void> {
    task.seq += 1;
    const record = { ...change, task: this.snapshot(task) };
    return this.serially(() => acts.recordTaskChange(record));
  }

  /** One record at a time, in order; a cancelled run still writes what happened before it closes its tasks. */
  private serially(work: () => Promise<void>): Promise<void> {
    const written = this.tail.then(() => CancellationScope.nonCancellable(work));
    this.tail = written.catch(() => undefined);
    return written;
  }

  private snapshot(task: ActiveTask): TaskSnapshot {
    return {
      taskId: task.id,
      runId: this.run.runId,
      key: task.spec.key,
      stepId: task.spec.stepId,
      seq: task.seq,
      round: task.round,
      status: task.status,
      holder: task.holder ?? null,
      firstClaimedAt: task.firstClaimedAt ?? null,
      completedAt: task.completedAt ?? null,
      completedBy: task.completedBy ?? null,
      values: task.values ?? null,
      escalatedTo: task.escalatedTo ?? null,
      closedReason: task.closedReason ?? null,
    };
  }

  private personOf(approver: Approver | undefined): TaskPerson | undefined {
    return approver && { email: approver.email, name: approver.name };
  }

  private stateOf(task: ActiveTask): TaskState {
    return { taskId: task.id, status: task.status, holder: this.personOf(task.holder) ?? null, completedBy: task.completedBy ?? null, nonce: task.nonce ?? null };
  }

  private outcomeOf(task: ActiveTask): TaskOutcome {
    return {
      taskId: task.id,
      key: task.spec.key,
      title: task.spec.title,
      status: task.status,
      candidateGroup: task.spec.candidateGroup?.replace(/^role:/, '') ?? null,
      holder: task.holder ?? null,
      dueAt: task.spec.dueAt,
      completedBy: task.completedBy ?? null,
      completedAt: task.completedAt ?? null,
      values: task.values ?? null,
    };
  }
}
