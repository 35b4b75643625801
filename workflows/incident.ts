import { allHandlersFinished, ApplicationFailure, CancellationScope, condition, defineUpdate, isCancellation, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Approver } from '../activities/records.js';
import { durationMs } from '../processes/duration.js';
import { formatUtc } from '../processes/format.js';
import type { IncidentInput, IncidentPolicy } from '../processes/incident.js';
import {
  ACKNOWLEDGE_STEP,
  ACTION_TASK,
  ACTIONS_STEP,
  DECLARE_STEP,
  DECLARE_TASK,
  departmentKeys,
  departmentTasks,
  incidentRun,
  pagingChain,
  RESPOND_STEP,
  REVIEW_STEP,
  REVIEW_TASK,
  stakeholderRefs,
  taskLines,
  type ImpactDeclaration,
  type PageLevel,
  type ReviewValues,
} from '../processes/incident-flow.js';
import {
  ACKNOWLEDGE_INCIDENT_UPDATE,
  IncidentRefusal,
  POST_INCIDENT_STATUS_UPDATE,
  RESOLVE_INCIDENT_UPDATE,
  type AcknowledgeInput,
  type IncidentActionInput,
  type IncidentPerson,
  type IncidentState,
  type PostStatusInput,
  type ResolveInput,
} from '../processes/incident-messages.js';
import type { RunArgs } from '../processes/types.js';
import { openRun, revokeLinksAndTellRequester } from './approval-chain.js';
import { shortWork, trackRun } from './run-lifecycle.js';
import { TaskDesk, type TaskSpec } from './tasks.js';

/** Every incident action is an Update: its validator refuses it (not paged, not the owner, already resolved, …) before anything is recorded. */
export const acknowledgeIncidentUpdate = defineUpdate<IncidentState, [AcknowledgeInput]>(ACKNOWLEDGE_INCIDENT_UPDATE);
export const postIncidentStatusUpdate = defineUpdate<IncidentState, [PostStatusInput]>(POST_INCIDENT_STATUS_UPDATE);
export const resolveIncidentUpdate = defineUpdate<IncidentState, [ResolveInput]>(RESOLVE_INCIDENT_UPDATE);

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const same = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();

function refuse(message: string, type: IncidentRefusal, details: unknown[] = []): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true, details });
}

interface Paged extends IncidentPerson {
  level: number;
  as: string;
}

interface Acknowledgement {
  by: Paged;
  at: number;
  nonce: string;
}

export interface IncidentResult {
  outcome: 'resolved';
  acknowledgedBy: string;
  /** How far the page had gone when it was acknowledged (0: the on-call owner). */
  level: number;
  actions: number;
}

/**
 * The incident's own state and its Updates: who was paged (in order), the acknowledgement, the statuses the owner
 * posts and the resolution. Acknowledging is open to everyone paged so far, also after the page escalated past them;
 * the first one owns the incident. Records are written one after another, in the order things happened.
 */
class IncidentDesk {
  private readonly paged = new Map<string, Paged>();
  ack?: Acknowledgement;
  readonly statuses: Array<{ text: string; by: IncidentPerson; at: number }> = [];
  resolution?: { summary: string; by: IncidentPerson; at: number; nonce: string };
  /** The furthest level of the chain paged so far. */
  private reached = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly runId: string) {
    setHandler(acknowledgeIncidentUpdate, (input) => this.acknowledge(input), { validator: (input) => this.validateAcknowledge(input) });
    setHandler(postIncidentStatusUpdate, (input) => this.postStatus(input), { validator: (input) => this.validateOwnerAction(input, input.text, 'Write the status') });
    setHandler(resolveIncidentUpdate, (input) => this.resolve(input), { validator: (input) => this.validateOwnerAction(input, input.summary, 'Say how it was resolved') });
  }

  get owner(): Paged | undefined {
    return this.ack?.by;
  }

  // ----- paging -----------------------------------------------------------------------------------------------

  /**
   * Pages the chain's levels in turn, each after the one before had `acknowledgeWithin` to acknowledge; a level
   * that names nobody new (nobody holds the role, or they were paged already) passes on at once. Returns when
   * someone acknowledged: after the last level the page waits for that.
   */
  async page(chain: PageLevel[], subjectEmail: string, acknowledgeWithin: string): Promise<void> {
    for (let level = 0; level < chain.length && !this.ack; level++) {
      const { ref, as } = chain[level]!;
      const [seat] = await shortWork().approverCandidates({ roles: [ref], subjectEmail, managerChain: false });
      if (this.ack) break;
      const fresh = (seat?.candidates ?? []).filter((c) => !c.unavailable && !this.paged.has(c.email.toLowerCase()));
      const candidate = fresh[0];
      const person: Approver | null = candidate ? { email: candidate.email, name: candidate.name, role: as, ...(candidate.onBehalfOf ? { onBehalfOf: candidate.onBehalfOf } : {}) } : null;
      const escalatedFrom = [...this.paged.values()].map((p) => p.name);
      // Open for acknowledgement before the mail goes out: a person may answer faster than the activity returns.
      if (person) {
        this.paged.set(person.email.toLowerCase(), { email: person.email, name: person.name, level, as });
        this.reached = level;
      }
      const missing = person ? undefined : (seat?.missing ?? 'everyone it names was paged already or is away');
      log.info(person ? 'incident paged' : 'incident page level skipped', { step: ACKNOWLEDGE_STEP, level });
      await this.serially(() => acts.pageIncident({ runId: this.runId, stepId: ACKNOWLEDGE_STEP, level, as, ref, person, missing, acknowledgeWithin, escalatedFrom }));
      if (person && level < chain.length - 1) await condition(() => this.ack !== undefined, durationMs(acknowledgeWithin));
    }
    await condition(() => this.ack !== undefined);
  }

  private validateAcknowledge(input: AcknowledgeInput): void {
    if (this.resolution) refuse('This incident is resolved', IncidentRefusal.resolved);
    const by = this.ack?.by;
    if (by) refuse(`${by.name} (${by.email}) acknowledged this incident`, IncidentRefusal.alreadyAcknowledged, [{ email: by.email, name: by.name }]);
    if (!this.paged.has(input.actorEmail.toLowerCase())) refuse(`${input.actorEmail} was not paged for this incident`, IncidentRefusal.notPaged);
  }

  private async acknowledge(input: AcknowledgeInput): Promise<IncidentState> {
    // Set before anything is awaited: the paging stops, and an acknowledgement racing this one is refused.
    const ack: Acknowledgement = { by: this.paged.get(input.actorEmail.toLowerCase())!, at: Date.now(), nonce: input.nonce };
    this.ack = ack;
    log.info('incident acknowledged', { step: ACKNOWLEDGE_STEP, level: ack.by.level, channel: input.channel });
    await this.serially(() => acts.recordIncidentAcknowledged({ runId: this.runId, by: this.personOf(ack.by), at: ack.at, level: ack.by.level, reached: this.reached, ...this.evidence(input) }));
    return this.state(ack.nonce);
  }

  // ----- status and resolution --------------------------------------------------------------------------------

  private validateOwnerAction(input: IncidentActionInput, text: string, missing: string): void {
    if (this.resolution) refuse('This incident is resolved', IncidentRefusal.resolved);
    const owner = this.owner;
    if (!owner) refuse('Nobody has acknowledged this incident yet', IncidentRefusal.notAcknowledged);
    if (!same(owner.email, input.actorEmail)) refuse(`${owner.name} (${owner.email}) owns this incident: only they post its status and resolve it`, IncidentRefusal.notOwner);
    if (!text?.trim()) refuse(missing, IncidentRefusal.invalid);
  }

  private async postStatus(input: PostStatusInput): Promise<IncidentState> {
    const status = { text: input.text.trim(), by: this.personOf(this.owner!), at: Date.now() };
    this.statuses.push(status);
    const number = this.statuses.length;
    await this.serially(() => acts.recordIncidentStatus({ runId: this.runId, number, ...status, ...this.evidence(input) }));
    return this.state(null);
  }

  private async resolve(input: ResolveInput): Promise<IncidentState> {
    const resolution = { summary: input.summary.trim(), by: this.personOf(this.owner!), at: Date.now(), nonce: input.nonce };
    this.resolution = resolution;
    log.info('incident resolved', { step: RESPOND_STEP, channel: input.channel });
    await this.serially(() => acts.recordIncidentResolved({ runId: this.runId, by: resolution.by, at: resolution.at, summary: resolution.summary, ...this.evidence(input) }));
    return this.state(resolution.nonce);
  }

  /**
   * Status updates to the stakeholders every `every` from the start until the resolution, each with the status the
   * owner posted since the one before (or saying nobody did), then the resolution to them and to the reporter.
   */
  async statusUpdates(options: { every: string; recipients: string[]; reporter: string; tasks: () => string[] }): Promise<void> {
    let number = 0;
    let seen = 0;
    let since = Date.now();
    const base = { runId: this.runId, recipients: options.recipients };
    while (!(await condition(() => this.resolution !== undefined, durationMs(options.every)))) {
      number += 1;
      const fresh = this.statuses.length > seen ? this.statuses.at(-1) : undefined;
      seen = this.statuses.length;
      const update = { ...base, number, kind: 'scheduled' as const, alsoTo: [], state: this.stateLine(), since, tasks: options.tasks() };
      await this.serially(() => acts.sendIncidentUpdate({ ...update, ...(fresh ? { newStatus: { text: fresh.text, by: fresh.by.name, at: fresh.at } } : {}) }));
      since = Date.now();
    }
    const { summary, by, at } = this.resolution!;
    const last = { ...base, number: number + 1, kind: 'resolved' as const, alsoTo: [options.reporter], state: this.stateLine(), since, tasks: options.tasks() };
    await this.serially(() => acts.sendIncidentUpdate({ ...last, resolution: { summary, by: by.name, at } }));
  }

  /** Every record written so far. */
  recorded(): Promise<void> {
    return this.tail;
  }

  /** The run ended: every page link stops working and its Slack message says why. */
  async closePages(reason: string): Promise<void> {
    await this.serially(() => acts.closeIncidentPages({ runId: this.runId, reason }));
  }

  // ----- helpers ----------------------------------------------------------------------------------------------

  private stateLine(): string {
    const ack = this.ack;
    if (ack) return `Acknowledged by ${ack.by.name} (${ack.by.as}) on ${formatUtc(ack.at)}: they own it.`;
    const paged = [...this.paged.values()];
    const last = paged.at(-1);
    return last ? `Not acknowledged yet: paged to ${paged.map((p) => p.name).join(', ')}, most recently ${last.name} (${last.as}).` : 'Not acknowledged yet: nobody could be paged.';
  }

  private personOf(person: IncidentPerson): IncidentPerson {
    return { email: person.email, name: person.name };
  }

  private evidence(input: IncidentActionInput) {
    return { channel: input.channel, ip: input.ip, userAgent: input.userAgent };
  }

  private state(nonce: string | null): IncidentState {
    const ack = this.ack;
    return {
      acknowledgedBy: ack ? this.personOf(ack.by) : null,
      acknowledgedAt: ack?.at ?? null,
      level: ack?.by.level ?? 0,
      resolvedAt: this.resolution?.at ?? null,
      nonce,
    };
  }

  /** One record at a time, in order; a cancelled run still writes what happened before it closes. */
  private serially(work: () => Promise<void>): Promise<void> {
    const written = this.tail.then(() => CancellationScope.nonCancellable(work));
    this.tail = written.catch(() => undefined);
    return written;
  }
}

/**
 * An incident: the area's on-call owner is paged and must acknowledge in time, else the page escalates along the
 * severity's chain; the owner declares the impact and the departments to involve, whose tasks run in parallel;
 * status updates go to the stakeholders until the owner resolves it; then a post-incident review, whose actions
 * become tasks. The run completes when every task is done.
 */
export async function incidentWorkflow(args: RunArgs<IncidentInput, IncidentPolicy>): Promise<IncidentResult> {
  const { tracker, desk, policy } = await openRun(incidentRun, args);
  const { input } = args;
  const runId = tracker.runId;
  const area = policy.areas[input.area];
  const severity = policy.severities[input.severity];
  const incident = new IncidentDesk(runId);
  const tasks = new TaskDesk({ runId, requesterEmail: input.requester.email, startedBy: args.startedBy, keepRequesterOut: false });
  /** The declaration and the departments' tasks: what the status updates report on. */
  const responseTasks: string[] = [];
  let failure: unknown;

  const result = await trackRun(
    tracker,
    async (): Promise<IncidentResult> => {
      await tracker.enterStep(ACKNOWLEDGE_STEP);
      const openedAt = Date.now();
      const recipients = stakeholderRefs(area, severity);
      await acts.openIncident({
        runId,
        area: input.area,
        severity: input.severity,
        openedAt,
        acknowledgeBy: openedAt + durationMs(severity.acknowledgeWithin),
        acknowledgeWithin: severity.acknowledgeWithin,
        statusEvery: severity.statusEvery,
        stakeholders: recipients,
      });
      const updates = incident
        .statusUpdates({ every: severity.statusEvery, recipients, reporter: input.requester.email, tasks: () => taskLines(tasks.outcomes(responseTasks)) })
        .catch((error: unknown) => {
          // A cancelled run stops its updates; anything else fails the run where it waits for them.
          if (!isCancellation(error)) failure ??= error;
        });

      await incident.page(pagingChain(input.area, area, severity, openedAt), input.requester.email, severity.acknowledgeWithin);
      await incident.recorded();
      const owner = incident.owner!;
      const task = (spec: Omit<TaskSpec, 'timing' | 'dueAt'> & { dueAt?: number }) =>
        tasks.open({ dueAt: Date.now() + durationMs(severity.tasksDueWithin), timing: policy.tasks, ...spec });

      await tracker.enterStep(DECLARE_STEP);
      const declaration = await task({
        key: DECLARE_TASK,
        stepId: DECLARE_STEP,
        title: `Declare the impact: ${input.title}`,
        instructions: 'Say what the incident hits and how badly, and tick the departments that must act: each gets a task with your brief.',
        assignee: `person:${owner.email}`,
      });
      responseTasks.push(declaration);
      await tasks.waitForAll([declaration], undefined, () => incident.resolution !== undefined || failure !== undefined);
      const [declared] = tasks.outcomes([declaration]);
      if (declared?.status === 'completed') {
        const impact = declared.values as unknown as ImpactDeclaration;
        await acts.recordTaskSummary({ runId, stepId: RESPOND_STEP, field: 'impact', summary: impact });
        await tracker.enterStep(RESPOND_STEP);
        for (const key of departmentKeys.filter((k) => impact[departmentTasks[k].askField as keyof ImpactDeclaration] === true)) {
          const { key: taskKey, title, instructions } = departmentTasks[key];
          const id = await task({
            key: taskKey,
            stepId: RESPOND_STEP,
            title: `${title}: ${input.title}`,
            instructions: `${instructions}\n\nFrom ${owner.name}, who owns the incident: ${impact.brief ?? ''}`,
            candidateGroup: policy.departments[key].candidateGroup,
          });
          responseTasks.push(id);
        }
      }

      await condition(() => incident.resolution !== undefined || failure !== undefined);
      if (failure !== undefined) throw failure;
      await tasks.close([declaration], 'the incident was resolved before its impact was declared');
      await updates;
      if (failure !== undefined) throw failure;

      await tracker.enterStep(REVIEW_STEP);
      const review = await task({
        key: REVIEW_TASK,
        stepId: REVIEW_STEP,
        title: `Post-incident review: ${input.title}`,
        instructions: 'Write up what happened and why, and list the actions that keep it from happening again: each becomes a task.',
        assignee: `person:${owner.email}`,
        dueAt: Date.now() + durationMs(policy.review.dueWithin),
      });
      await tasks.waitForAll([review, ...responseTasks]);
      const [reviewed] = tasks.outcomes([review]);
      const actions = (reviewed?.values as unknown as ReviewValues | null)?.actions ?? [];
      if (actions.length) {
        await tracker.enterStep(ACTIONS_STEP);
        const ids: string[] = [];
        for (const action of actions) {
          ids.push(
            await task({
              key: ACTION_TASK,
              stepId: ACTIONS_STEP,
              title: `${action.action} (${input.title})`,
              instructions: `An action from the post-incident review of "${input.title}": ${action.action}. Say what was done when you complete it.`,
              ...(action.owner === 'owner' ? { assignee: `person:${owner.email}` } : { candidateGroup: policy.departments[action.owner].candidateGroup }),
              dueAt: Date.parse(`${action.dueOn}T23:59:59Z`),
            }),
          );
        }
        await tasks.waitForAll(ids);
      }
      await tasks.closeAll('the run ended');
      await tracker.close('completed', 'resolved');
      return { outcome: 'resolved', acknowledgedBy: owner.email, level: owner.level, actions: actions.length };
    },
    async (status, reason) => {
      await tasks.closeAll(`the run was ${status}`);
      await incident.closePages(`the run was ${status}`);
      await revokeLinksAndTellRequester(desk, tracker)(status, reason);
    },
  );
  await condition(allHandlersFinished);
  return result;
}
