import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  log,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { OpenedApprovalStep } from '../activities/approvals.js';
import type { Activities } from '../activities/index.js';
import {
  DECISION_ANSWERED_BEFORE_RECORDING,
  DECISION_RECORD_CARRIED_BY_NEXT_STEP,
  DECISION_RECORD_DEFERRED,
  ESCALATION_UNDER_SEAT_RULES,
  hasPatch,
  REVISION_RECORDED_BEFORE_RESUMING,
  STEP_OPENED_IN_ONE_ACTIVITY,
  STEP_RECORDED_WITH_REQUEST,
} from './patches.js';
import type { Approver, SeatCandidates } from '../activities/records.js';
import {
  APPROVALS_QUERY,
  approvalRequestId,
  DECIDE_UPDATE,
  DecisionRefusal,
  isFirstRoundSeatRequest,
  REASSIGN_UPDATE,
  REVISE_UPDATE,
  revisionRequestId,
  type ApprovalRule,
  type DecisionInput,
  type DecisionResult,
  type ReassignInput,
  type ReassignResult,
  type ReviseInput,
} from '../processes/approval-messages.js';
import {
  approverOf,
  candidateConflict,
  dutyConflict,
  firstEligible,
  serializeDuties,
  type Candidate,
  type DutiesContext,
  type SeparationOfDuties,
  type SkippedCandidate,
} from '../processes/controls.js';
import { durationMs } from '../processes/duration.js';
import { factsVersion, type Fact } from '../processes/facts.js';
import { FailureType } from '../processes/failures.js';
import type { ApprovalTiming } from '../processes/policy.js';
import { shortWork, type CarriedRecords } from './run-lifecycle.js';

export type { DecisionInput, DecisionResult } from '../processes/approval-messages.js';

/** Decisions are Updates: the validator refuses closed steps and wrong approvers before anything is recorded. */
export const decideUpdate = defineUpdate<DecisionResult, [DecisionInput]>(DECIDE_UPDATE);
export const reassignUpdate = defineUpdate<ReassignResult, [ReassignInput]>(REASSIGN_UPDATE);
export const reviseUpdate = defineUpdate<{ requestId: string }, [ReviseInput]>(REVISE_UPDATE);

export interface OpenApproval {
  requestId: string;
  stepId: string;
  seat: number;
  approver: Approver;
  expiresAt: number;
}
export const approvalsQuery = defineQuery<{ open: OpenApproval[]; decided: DecisionResult[]; version: string }>(APPROVALS_QUERY);

export interface ApprovalStepSpec {
  stepId: string;
  title: string;
  /** One role reference per seat, resolved when the step opens: "manager-of-requester", "role:cfo", "person:x@y.z". */
  approvers: string[];
  /** How the seats' decisions combine; one seat needs none. */
  rule?: ApprovalRule;
  timing: ApprovalTiming;
}

export type StepOutcome =
  | { outcome: 'approved'; decisions: DecisionResult[] }
  | { outcome: 'rejected' | 'changes_requested'; decision: DecisionResult; approver: Approver; decisions: DecisionResult[] }
  | { outcome: 'expired'; reason: string };

export interface ApprovalDeskHooks {
  /** Called when a step starts waiting, so the run's read model and search attributes follow. */
  onWaiting?(step: ApprovalStepSpec, approvers: Approver[]): Promise<void>;
  /** The same without an activity of its own: the first seat's request records the step in the read model. */
  markWaiting?(step: ApprovalStepSpec, approvers: Approver[]): void;
}

/** Who the run is for and which controls its policy sets; the desk enforces them on every seat and decision. */
export interface ApprovalDeskRun {
  runId: string;
  requesterEmail: string;
  /** Whose key started the run, when known; kept out of its seats like the requester. */
  startedBy?: string;
  policyVersion: number;
  separationOfDuties: SeparationOfDuties;
  /** The facts approvers are shown for an input (the process's `describe`); hashed into the decision version. */
  factsOf(input: unknown): Fact[];
  /** The run's amount, for a policy that approves at the deadline only below a limit. */
  amountOf(input: unknown): number | undefined;
  input: unknown;
}

type DecisionRecordInput = Parameters<Activities['recordDecision']>[0];

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

function refuse(message: string, type: DecisionRefusal): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true });
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Who decides when the policy does: a deadline action. */
const POLICY: Approver = { email: 'policy', name: 'Policy', role: 'policy' };

/** One approver slot of a step. Reassignment and escalation put a new person in the seat (a new round). */
interface Seat {
  seat: number;
  approver: Approver;
  round: number;
  requestId?: string;
  expiresAt: number;
  decision?: DecisionResult;
}

interface ActiveStep {
  spec: ApprovalStepSpec;
  rule: ApprovalRule;
  attempt: number;
  seats: Seat[];
  /** Set once the outcome is known: handlers that awaited meanwhile must not open seats on a closed step. */
  closed: boolean;
  /** Why escalation could not move the step to anyone, when it could not. */
  escalationGap?: string;
}

interface Revision {
  requestId: string;
  /** Set the moment the requester's edit is accepted: a second edit is refused from then on. */
  submitted?: boolean;
  /** The edited input, once the chain may go on with it (see REVISION_RECORDED_BEFORE_RESUMING). */
  input?: Record<string, unknown>;
}

/** What approvers are shown now, and its version. */
interface Subject {
  input: unknown;
  facts: Fact[];
  version: string;
}

/** Closed once its outcome is known: k approvals approve; more refusals than can still reach k reject. */
export function stepOutcome(rule: ApprovalRule, decisions: Array<DecisionResult['decision'] | undefined>): DecisionResult['decision'] | undefined {
  if (decisions.includes('changes_requested')) return 'changes_requested';
  const required = rule.kind === 'all' ? decisions.length : rule.kind === 'any' ? 1 : rule.required;
  const approvals = decisions.filter((d) => d === 'approved').length;
  const rejections = decisions.filter((d) => d === 'rejected').length;
  if (approvals >= required) return 'approved';
  if (decisions.length - rejections < required) return 'rejected';
  return undefined;
}

/** How many seats a rule needs filled to be able to approve at all. */
function seatsNeeded(rule: ApprovalRule, seats: number): number {
  return rule.kind === 'all' ? seats : rule.kind === 'any' ? 1 : rule.required;
}

/** A k-of-n step with fewer than k seats filled can never be approved: the run fails at that step, saying so. */
function assertQuorumReachable(spec: ApprovalStepSpec, rule: ApprovalRule, seats: number): void {
  if (rule.kind === 'quorum' && rule.required > seats) {
    throw ApplicationFailure.create({
      message: `${spec.title} needs ${rule.required} approvals but only ${seats} approvers were found`,
      type: FailureType.quorumUnreachable,
      nonRetryable: true,
      details: [{ step: spec.stepId }],
    });
  }
}

/**
 * The approval step every process uses: request → wait → remind → escalate → deadline action, for one approver or
 * several (all-of, any-of, k-of-n). One desk per run; it owns the run's `decide`, `reassign` and `revise` Updates
 * and enforces separation of duties and the decision version on all of them, whatever channel they come from.
 */
export class ApprovalDesk {
  /** Every request that can still be decided, by request id. */
  private readonly open = new Map<string, { step: ActiveStep; seat: Seat }>();
  private readonly decided: DecisionResult[] = [];
  /** Who decided which step: one person decides at most one step of a run (unless the policy allows more). */
  private readonly deciders = new Map<string, { stepId: string; stepTitle: string }>();
  /** Why a request stopped being open, so a late decision is told the same reason its link page shows. */
  private readonly closedBecause = new Map<string, string>();
  private readonly attempts = new Map<string, number>();
  private revision?: Revision;
  private subject: Subject;
  /** Decision records still being written (see DECISION_ANSWERED_BEFORE_RECORDING), with what they write. */
  private readonly recording = new Map<Promise<void>, DecisionRecordInput>();
  /** Decision records nothing has started to write yet (DECISION_RECORD_DEFERRED): what comes next writes them. */
  private deferred: DecisionRecordInput[] = [];
  /**
   * The step whose seats one activity is opening (STEP_OPENED_IN_ONE_ACTIVITY): their approvers are known once it
   * returns, but their mails may already have been read, so a decision on them waits for it instead of being refused.
   */
  private opening?: { stepId: string; attempt: number };

  constructor(
    private readonly run: ApprovalDeskRun,
    private readonly hooks: ApprovalDeskHooks = {},
  ) {
    this.subject = this.subjectOf(run.input);
    setHandler(decideUpdate, (input) => this.applyDecision(input), { validator: (input) => this.validateDecision(input) });
    setHandler(reassignUpdate, (input) => this.reassign(input), { validator: (input) => this.validateReassign(input) });
    setHandler(reviseUpdate, (input) => this.applyRevision(input), { validator: (input) => this.validateRevision(input) });
    setHandler(approvalsQuery, () => ({
      open: [...this.open.values()].map(({ step, seat }) => ({
        requestId: seat.requestId!,
        stepId: step.spec.stepId,
        seat: seat.seat,
        approver: seat.approver,
        expiresAt: seat.expiresAt,
      })),
      decided: [...this.decided],
      version: this.subject.version,
    }));
  }

  /** After an edit, approvers see the new facts, and only a decision on their version counts. */
  useInput(input: unknown): void {
    this.subject = this.subjectOf(input);
  }

  /** Every link that still works: approvers' requests and an unanswered edit link. */
  openRequestIds(): string[] {
    const revision = this.revision && !this.revision.submitted ? [this.revision.requestId] : [];
    return [...this.open.keys(), ...revision];
  }

  private subjectOf(input: unknown): Subject {
    const facts = this.run.factsOf(input);
    return { input, facts, version: factsVersion(facts, input) };
  }

  private duties(): DutiesContext {
    return {
      requesterEmail: this.run.requesterEmail,
      startedBy: this.run.startedBy,
      onePersonOneStep: this.run.separationOfDuties.onePersonOneStep,
      decided: this.deciders,
    };
  }

  // ----- decisions -------------------------------------------------------------------------------------------

  /** Whether the request is one of the seats an activity is opening right now. */
  private isOpening(requestId: string): boolean {
    return this.opening !== undefined && isFirstRoundSeatRequest(requestId, this.run.runId, this.opening.stepId, this.opening.attempt);
  }

  private validateDecision(input: DecisionInput): void {
    // A seat being opened is checked in full by the handler once its approver is known; what can be checked now is.
    if (this.isOpening(input.requestId)) return this.validateDecisionTerms(input);
    const entry = this.open.get(input.requestId);
    if (!entry) refuse(this.closedBecause.get(input.requestId) ?? 'This approval request is no longer open', DecisionRefusal.notOpen);
    if (entry.seat.decision) refuse('This approval request was already decided', DecisionRefusal.alreadyDecided);
    // Another approver's decision in the same instant may have closed the step: this vote is no longer needed.
    if (stepOutcome(entry.step.rule, entry.step.seats.map((s) => s.decision?.decision))) {
      refuse('The step was decided without this approval: it is no longer needed', DecisionRefusal.notNeeded);
    }
    if (!same(input.actorEmail, entry.seat.approver.email)) {
      refuse(`${input.actorEmail} is not the approver of this request`, DecisionRefusal.wrongApprover);
    }
    // Seats are filled without conflicts; this holds even if a seat was filled some other way.
    const conflict = dutyConflict(input.actorEmail, entry.step.spec.stepId, this.duties());
    if (conflict) refuse(`${input.actorEmail} ${conflict}: separation of duties`, DecisionRefusal.separationOfDuties);
    this.validateDecisionTerms(input);
  }

  /** What a decision must say whoever takes it: a known decision, on the current version, with a reason if not approved. */
  private validateDecisionTerms(input: DecisionInput): void {
    if (!['approved', 'rejected', 'changes_requested'].includes(input.decision)) refuse('Unknown decision', DecisionRefusal.invalid);
    if (!input.version) refuse('A decision must name the version of the request it was made on', DecisionRefusal.invalid);
    if (input.version !== this.subject.version) {
      refuse('The request changed after this page was shown: decide on the current version', DecisionRefusal.staleVersion);
    }
    if (input.decision !== 'approved' && !input.comment?.trim()) {
      refuse(input.decision === 'rejected' ? 'A reason is required to reject' : 'Say what should change', DecisionRefusal.reasonRequired);
    }
  }

  private async applyDecision(input: DecisionInput): Promise<DecisionResult> {
    if (this.isOpening(input.requestId)) {
      await condition(() => !this.isOpening(input.requestId));
      // Refused here the Update fails with the same refusal its validator would have given.
      this.validateDecision(input);
    }
    const { step, seat } = this.open.get(input.requestId)!;
    const result: DecisionResult = {
      requestId: input.requestId,
      stepId: step.spec.stepId,
      decision: input.decision,
      comment: input.comment?.trim() || null,
      actorEmail: seat.approver.email,
      decidedAt: Date.now(),
      nonce: input.nonce,
      version: this.subject.version,
    };
    // Recorded before awaiting anything, so a racing decision on the same request fails validation.
    seat.decision = result;
    this.open.delete(input.requestId);
    this.decided.push(result);
    // Workflow logs are replay-aware sinks: no command, nothing logged again on replay.
    log.info('decision applied', { step: step.spec.stepId, requestId: input.requestId, decision: input.decision, channel: input.channel });
    for (const email of [seat.approver.email, seat.approver.onBehalfOf?.email]) {
      if (email) this.deciders.set(email.toLowerCase(), { stepId: step.spec.stepId, stepTitle: step.spec.title });
    }
    const record = {
      requestId: result.requestId,
      runId: this.run.runId,
      stepId: result.stepId,
      decision: result.decision,
      comment: result.comment,
      actorEmail: result.actorEmail,
      channel: input.channel,
      ip: input.ip,
      userAgent: input.userAgent,
      decidedAt: result.decidedAt,
      version: result.version,
      facts: this.subject.facts,
    };
    if (hasPatch(DECISION_RECORD_DEFERRED)) {
      this.deferred.push(record);
      return result;
    }
    if (hasPatch(DECISION_ANSWERED_BEFORE_RECORDING)) {
      this.recordInBackground(record);
      return result;
    }
    await acts.recordDecision(record);
    return result;
  }

  /** Writes a decision's record without holding up the answer; a cancellation of the run does not stop it. */
  private recordInBackground(record: DecisionRecordInput): void {
    const written = CancellationScope.nonCancellable(() => acts.recordDecision(record));
    this.recording.set(written, record);
    void written.finally(() => this.recording.delete(written));
  }

  /** Starts writing the deferred records (DECISION_RECORD_DEFERRED); nothing to do for runs without them. */
  private writeDeferredRecords(): void {
    for (const record of this.deferred.splice(0)) this.recordInBackground(record);
  }

  /** Every decision record written: before a step closes, and before a cancelled or failed run ends. */
  async settleRecords(): Promise<void> {
    this.writeDeferredRecords();
    await Promise.all([...this.recording.keys()]);
  }

  /** Whether decision records are still to be written. Callers await settleRecords only then: no extra await otherwise. */
  hasUnsettledRecords(): boolean {
    return this.recording.size > 0 || this.deferred.length > 0;
  }

  /**
   * The records still being written or not written yet, for the next step's requests to write first
   * (DECISION_RECORD_CARRIED_BY_NEXT_STEP, DECISION_RECORD_DEFERRED).
   */
  private unsettledRecords(): DecisionRecordInput[] | undefined {
    const records = [...this.recording.values(), ...this.deferred];
    return records.length ? records : undefined;
  }

  /**
   * The unsettled records, for an activity that writes them before its own work (the next step's requests, the run's
   * close): once it has, `written()` takes the deferred ones it carried off the list (decisions taken meanwhile stay).
   */
  carryRecords(): CarriedRecords {
    const carried = [...this.deferred];
    return {
      records: this.unsettledRecords(),
      written: () => {
        if (carried.length) this.deferred = this.deferred.filter((record) => !carried.includes(record));
      },
    };
  }

  // ----- reassignment ----------------------------------------------------------------------------------------

  private validateReassign(input: ReassignInput): void {
    // A seat being opened (its mail may be out already) is checked in full by the handler once its approver is known;
    // what can be checked now is.
    const entry = this.open.get(input.requestId);
    if (!entry && !this.isOpening(input.requestId)) refuse('This approval request is no longer open', DecisionRefusal.notOpen);
    if (entry && same(entry.seat.approver.email, input.toEmail)) refuse(`${input.toEmail} already holds this request`, DecisionRefusal.sameApprover);
    if (same(input.actorEmail, this.run.requesterEmail)) {
      refuse('The requester cannot reassign the approvals of their own request', DecisionRefusal.separationOfDuties);
    }
    if (same(input.actorEmail, input.toEmail)) refuse('Nobody can reassign a request to themselves', DecisionRefusal.separationOfDuties);
    if (!entry) return;
    const conflict = this.seatConflict(entry.step, entry.seat, { email: input.toEmail, name: input.toEmail, role: `person:${input.toEmail}` });
    if (conflict) refuse(`${input.toEmail} ${conflict}`, DecisionRefusal.separationOfDuties);
  }

  /** Why a candidate may not take this seat: a duty conflict, or they already sit in another seat of the step. */
  private seatConflict(step: ActiveStep, seat: Seat, candidate: Candidate): string | undefined {
    if (step.seats.some((s) => s !== seat && same(s.approver.email, candidate.email))) return 'already holds another seat of this step';
    return candidateConflict(candidate, step.spec.stepId, this.duties());
  }

  private async reassign(input: ReassignInput): Promise<ReassignResult> {
    if (this.isOpening(input.requestId)) {
      await condition(() => !this.isOpening(input.requestId));
      // Refused here the Update fails with the same refusal its validator would have given.
      this.validateReassign(input);
    }
    const { step, seat } = this.open.get(input.requestId)!;
    const [target] = await shortWork().approverCandidates({ roles: [`person:${input.toEmail}`], subjectEmail: seat.approver.email, managerChain: false });
    // The step may have closed, or the seat moved, while the directory answered.
    if (step.closed || seat.requestId !== input.requestId || seat.decision) refuse('This approval request is no longer open', DecisionRefusal.notOpen);
    const candidate = target?.candidates[0];
    if (!candidate) refuse(`${input.toEmail} is not in the directory`, DecisionRefusal.invalid);
    // The person may be away: their delegate would hold it, and must be eligible too.
    const conflict = this.seatConflict(step, seat, candidate);
    if (conflict) refuse(`${candidate.name} ${conflict}`, DecisionRefusal.separationOfDuties);
    const approver = approverOf(candidate);
    this.closeRequest(input.requestId, `the request was reassigned to ${approver.name}`);
    // The decisions before this step may still be being recorded: they are audited first.
    if (this.hasUnsettledRecords()) await this.settleRecords();
    await acts.revokeApprovalRequests({
      requestIds: [input.requestId],
      reason: `the request was reassigned to ${approver.name}`,
      action: 'approval.reassigned',
      actor: input.actorEmail,
      details: { to: approver.email, ...(input.reason ? { reason: input.reason } : {}) },
    });
    // The deadline or the other seats may have closed the step while the old request was revoked: then there is no
    // seat left to give, and the caller must not be told that someone new was asked.
    if (step.closed) refuse('The step closed while the request was being reassigned: nobody new was asked', DecisionRefusal.notOpen);
    seat.approver = approver;
    seat.round += 1;
    const newRequestId = await this.openSeat(step, seat, {});
    return { oldRequestId: input.requestId, newRequestId, approverEmail: approver.email };
  }

  private closeRequest(requestId: string, reason: string): void {
    this.open.delete(requestId);
    this.closedBecause.set(requestId, reason.charAt(0).toUpperCase() + reason.slice(1));
  }

  // ----- seats -----------------------------------------------------------------------------------------------

  private async openSeat(
    step: ActiveStep,
    seat: Seat,
    extra: { escalatedFrom?: Approver; reapproval?: { changed: string[] }; recordsStep?: boolean; precededBy?: DecisionRecordInput[] },
  ): Promise<string> {
    // Open for decisions before the mail goes out: an approver may click faster than the activity returns.
    const requestId = approvalRequestId(this.run.runId, step.spec.stepId, { attempt: step.attempt, seat: seat.seat, round: seat.round });
    seat.requestId = requestId;
    if (step.closed) return requestId;
    this.open.set(requestId, { step, seat });
    await acts.openApprovalRequest({
      requestId,
      runId: this.run.runId,
      stepId: step.spec.stepId,
      stepTitle: step.spec.title,
      seat: seat.seat,
      round: seat.round,
      approver: seat.approver,
      expiresAt: seat.expiresAt,
      escalatedFrom: extra.escalatedFrom,
      reapproval: extra.reapproval,
      ...(extra.recordsStep ? { currentStep: step.spec.stepId } : {}),
      ...(extra.precededBy ? { precededBy: extra.precededBy } : {}),
    });
    return requestId;
  }

  /**
   * Each seat goes to the first eligible person its role resolves to (the role's holders, then up the manager
   * chain, delegations followed), else to the policy's fallback role; anyone passed over is audited. A step that
   * cannot get the seats its rule needs fails the run at that step, saying why.
   */
  private async fillSeats(spec: ApprovalStepSpec, rule: ApprovalRule, attempt: number, found?: SeatCandidates[]): Promise<Approver[]> {
    // Right after a decision its Update's answer rides on the current workflow task, which a local activity would
    // hold until it is done: then the lookup is an ordinary activity, side by side with the decision's record.
    const directory = this.hasUnsettledRecords() ? acts : shortWork();
    const resolved = found ?? (await directory.approverCandidates({ roles: spec.approvers, subjectEmail: this.run.requesterEmail }));
    const chosen: Approver[] = [];
    const skipped: Array<SkippedCandidate & { seatRole: string }> = [];
    const unfilled: SeatCandidates[] = [];
    const take = (seat: SeatCandidates, candidates: Candidate[], role?: string) => {
      const pick = firstEligible(candidates, spec.stepId, this.duties(), chosen);
      skipped.push(...pick.skipped.map((s) => ({ ...s, seatRole: seat.role })));
      if (pick.chosen) chosen.push(approverOf(pick.chosen, role));
      return pick.chosen !== undefined;
    };
    for (const seat of resolved) if (!take(seat, seat.candidates)) unfilled.push(seat);
    const fallbackRole = this.run.separationOfDuties.fallbackRole;
    if (unfilled.length && fallbackRole) {
      const [fallback] = await shortWork().approverCandidates({ roles: [fallbackRole], subjectEmail: this.run.requesterEmail });
      for (const seat of unfilled.splice(0)) {
        if (!take(seat, fallback?.candidates ?? [], `${fallbackRole} (fallback for ${seat.role})`)) unfilled.push(seat);
      }
    }
    const feasible = chosen.length > 0 && chosen.length >= seatsNeeded(rule, resolved.length);
    if (skipped.length || unfilled.length) {
      if (this.hasUnsettledRecords()) await this.settleRecords();
      await acts.recordSkippedApprovers({
        runId: this.run.runId,
        stepId: spec.stepId,
        key: `a${attempt}`,
        skipped: skipped.map(({ seatRole, ...s }) => ({ ...s, role: seatRole })),
        unfilled: unfilled.map((seat) => ({ role: seat.role, reason: seat.missing ?? 'nobody eligible' })),
        failed: !feasible,
      });
    }
    if (!feasible) {
      const why = unfilled.map((seat) => `${seat.role}: ${seat.missing ?? 'nobody eligible (see the skipped approvers in the audit)'}`).join('; ');
      throw ApplicationFailure.create({
        message: `${spec.title} cannot be filled under separation of duties: ${why}`,
        type: FailureType.noEligibleApprover,
        nonRetryable: true,
        // The step fails before it is entered: the run's failure names it from here (run-lifecycle.ts failedStepOf).
        details: [{ step: spec.stepId }],
      });
    }
    return chosen;
  }

  // ----- steps -----------------------------------------------------------------------------------------------

  /** The seats filled here, then each opened by its own activity (and every step of runs begun before the patch). */
  private async openSeatsOneByOne(
    spec: ApprovalStepSpec,
    rule: ApprovalRule,
    attempt: number,
    reapproval: { changed: string[] } | undefined,
    found?: SeatCandidates[],
  ): Promise<ActiveStep> {
    const approvers = await this.fillSeats(spec, rule, attempt, found);
    assertQuorumReachable(spec, rule, approvers.length);
    const expiresAt = Date.now() + durationMs(spec.timing.timeout);
    const step: ActiveStep = { spec, rule, attempt, closed: false, seats: approvers.map((approver, seat) => ({ seat, approver, round: 1, expiresAt })) };

    // The run shows whom it waits on before their e-mails can arrive: the first request records the step first.
    const recordedWithRequest = hasPatch(STEP_RECORDED_WITH_REQUEST);
    if (recordedWithRequest) this.hooks.markWaiting?.(spec, approvers);
    else await this.hooks.onWaiting?.(spec, approvers);
    const carry = this.carryRecords();
    await Promise.all(
      step.seats.map((seat) => this.openSeat(step, seat, { reapproval, recordsStep: recordedWithRequest && seat.seat === 0, precededBy: carry.records })),
    );
    // The requests wrote the records they carried; decisions taken on them meanwhile are still to write.
    carry.written();
    return step;
  }

  /**
   * One activity looks the approvers up, takes each seat's first candidate when nobody has to be passed over, and
   * records and mails every request (STEP_OPENED_IN_ONE_ACTIVITY): one round trip where the lookup and the requests
   * took two. Separation of duties is still the workflow's: each approver it seated is checked here as a validator
   * checks a decision. When it opened nothing, its candidates are returned for the seats to be filled one by one.
   */
  private async openSeatsAtOnce(
    spec: ApprovalStepSpec,
    rule: ApprovalRule,
    attempt: number,
    reapproval: { changed: string[] } | undefined,
  ): Promise<{ step?: ActiveStep; resolved?: SeatCandidates[] }> {
    const expiresAt = Date.now() + durationMs(spec.timing.timeout);
    const carry = this.carryRecords();
    this.opening = { stepId: spec.stepId, attempt };
    let opened: OpenedApprovalStep;
    try {
      opened = await acts.openApprovalStep({
        runId: this.run.runId,
        stepId: spec.stepId,
        stepTitle: spec.title,
        attempt,
        roles: spec.approvers,
        subjectEmail: this.run.requesterEmail,
        duties: serializeDuties(this.duties()),
        expiresAt,
        reapproval,
        precededBy: carry.records,
      });
    } finally {
      this.opening = undefined;
    }
    if (!opened.opened) return { resolved: opened.resolved };
    // The first request wrote the records it carried; decisions taken meanwhile are still to write.
    carry.written();
    const approvers = opened.approvers;
    const seats = approvers.map((approver, seat) => ({ seat, approver, round: 1, expiresAt, requestId: approvalRequestId(this.run.runId, spec.stepId, { attempt, seat, round: 1 }) }));
    const step: ActiveStep = { spec, rule, attempt, closed: false, seats };
    for (const seat of seats) {
      const conflict = this.seatConflict(step, seat, seat.approver);
      if (conflict) {
        throw ApplicationFailure.create({
          message: `${spec.title}: ${seat.approver.email} was given a seat they may not hold (${conflict})`,
          type: FailureType.noEligibleApprover,
          nonRetryable: true,
          details: [{ step: spec.stepId }],
        });
      }
    }
    assertQuorumReachable(spec, rule, approvers.length);
    for (const seat of seats) this.open.set(seat.requestId, { step, seat });
    // The first request recorded the step in the read model; the search attributes follow here.
    this.hooks.markWaiting?.(spec, approvers);
    return { step };
  }

  /** Runs one step to its outcome. Cancellation propagates; the caller revokes what is still open. */
  /**
   * `recordsFollow`: the caller settles the decision records itself or opens another step right after (which
   * carries them); the step then closes without waiting for them (DECISION_RECORD_CARRIED_BY_NEXT_STEP).
   */
  async step(spec: ApprovalStepSpec, options: { reapproval?: { changed: string[] }; recordsFollow?: boolean } = {}): Promise<StepOutcome> {
    const attempt = (this.attempts.get(spec.stepId) ?? 0) + 1;
    this.attempts.set(spec.stepId, attempt);
    const rule: ApprovalRule = spec.rule ?? { kind: 'all' };
    const atOnce = hasPatch(STEP_OPENED_IN_ONE_ACTIVITY) ? await this.openSeatsAtOnce(spec, rule, attempt, options.reapproval) : undefined;
    const step = atOnce?.step ?? (await this.openSeatsOneByOne(spec, rule, attempt, options.reapproval, atOnce?.resolved));

    let escalated = false;
    for (;;) {
      const outcome = await this.waitForOutcome(step, rule);
      if (outcome) return this.close(step, outcome, options.recordsFollow === true);
      if (!escalated && spec.timing.onTimeout === 'escalate' && (await this.escalate(step))) {
        escalated = true;
        continue;
      }
      return this.atDeadline(step);
    }
  }

  private pending(step: ActiveStep): Seat[] {
    return step.seats.filter((seat) => !seat.decision);
  }

  /** Waits for the step's outcome, reminding whoever has not acted; undefined when the deadline passes. */
  private async waitForOutcome(step: ActiveStep, rule: ApprovalRule) {
    const decide = () => stepOutcome(rule, step.seats.map((s) => s.decision?.decision));
    const reminderEveryMs = durationMs(step.spec.timing.reminderAfter);
    const reminders = new Map<string, number>();
    for (;;) {
      const deadline = Math.max(...this.pending(step).map((s) => s.expiresAt));
      const remaining = deadline - Date.now();
      if (decide() || remaining <= 0) return decide();
      // A decision that leaves the step open (another seat still to decide) has its record written now
      // (DECISION_RECORD_DEFERRED); without deferred records this waits for the outcome as it always did.
      const woke = await condition(() => decide() !== undefined || this.deferred.length > 0, Math.min(remaining, reminderEveryMs));
      if (woke && decide() !== undefined) return decide();
      if (woke) {
        this.writeDeferredRecords();
        continue;
      }
      if (Date.now() >= deadline) continue;
      for (const seat of this.pending(step)) {
        const sent = (reminders.get(seat.requestId!) ?? 0) + 1;
        reminders.set(seat.requestId!, sent);
        await acts.remindApprover({ requestId: seat.requestId!, reminderNumber: sent });
      }
    }
  }

  /**
   * Each approver who did not act passes the request to the escalation approver. False when nobody can take it;
   * then `step.escalationGap` says why, for the expiry's reason.
   */
  private async escalate(step: ActiveStep): Promise<boolean> {
    const expiresAt = Date.now() + durationMs(step.spec.timing.escalationTimeout);
    let moved = false;
    const gaps: string[] = [];
    for (const seat of this.pending(step)) {
      const { approver: next, gap } = await this.escalationApprover(step, seat);
      if (gap) gaps.push(gap);
      // A decision or a reassignment may have landed while the directory answered.
      if (!next || step.closed || seat.decision || !seat.requestId || !this.open.has(seat.requestId)) continue;
      const from = seat.approver;
      this.closeRequest(seat.requestId, `the request was escalated to ${next.name}`);
      await acts.revokeApprovalRequests({
        requestIds: [seat.requestId],
        reason: `the request was escalated to ${next.name}`,
        action: 'approval.superseded',
      });
      seat.approver = next;
      seat.round += 1;
      seat.expiresAt = expiresAt;
      await this.openSeat(step, seat, { escalatedFrom: from });
      moved = true;
    }
    if (!moved && gaps.length) step.escalationGap = gaps.join('; ');
    return moved;
  }

  /**
   * The first eligible person the policy's escalation target resolves to from this seat's approver; when nobody
   * there is eligible, the policy's fallback role, as when a seat is first filled. Anyone passed over is audited;
   * `gap` says why nobody could take the seat.
   */
  private async escalationApprover(step: ActiveStep, seat: Seat): Promise<{ approver?: Approver; gap?: string }> {
    const escalateTo = step.spec.timing.escalateTo;
    const others = step.seats.filter((s) => s !== seat).map((s) => s.approver);
    const pickFrom = (target: SeatCandidates | undefined) =>
      firstEligible((target?.candidates ?? []).filter((c) => !same(c.email, seat.approver.email)), step.spec.stepId, this.duties(), others);
    const [target] = await shortWork().approverCandidates({ roles: [escalateTo], subjectEmail: seat.approver.email });
    let pick = pickFrom(target);
    const skipped = [...pick.skipped];
    let role: string | undefined;
    const unfilled: Array<{ role: string; reason: string }> = [];
    // Runs that began before the patch expired here without trying the fallback role or saying why.
    if (!pick.chosen && hasPatch(ESCALATION_UNDER_SEAT_RULES)) {
      unfilled.push({ role: escalateTo, reason: target?.missing ?? 'nobody eligible' });
      const fallbackRole = this.run.separationOfDuties.fallbackRole;
      if (fallbackRole) {
        const [fallback] = await shortWork().approverCandidates({ roles: [fallbackRole], subjectEmail: this.run.requesterEmail });
        pick = pickFrom(fallback);
        skipped.push(...pick.skipped);
        role = `${fallbackRole} (fallback for ${escalateTo})`;
        if (!pick.chosen) unfilled.push({ role: fallbackRole, reason: fallback?.missing ?? 'nobody eligible' });
      }
    }
    if (skipped.length || (!pick.chosen && unfilled.length)) {
      await acts.recordSkippedApprovers({
        runId: this.run.runId,
        stepId: step.spec.stepId,
        key: `a${step.attempt}:s${seat.seat}:r${seat.round}:escalation`,
        skipped,
        unfilled: pick.chosen ? [] : unfilled,
        failed: false,
        escalation: true,
      });
    }
    if (pick.chosen) return { approver: approverOf(pick.chosen, role) };
    return { gap: unfilled.length ? `escalation found nobody eligible (${unfilled.map((u) => `${u.role}: ${u.reason}`).join('; ')})` : undefined };
  }

  /** The policy's deadline action once nobody decided in time (and escalation, if any, did not help). */
  private async atDeadline(step: ActiveStep): Promise<StepOutcome> {
    const { timing, title } = step.spec;
    const action = timing.onTimeout === 'escalate' ? 'expire' : timing.onTimeout;
    if (action === 'expire') return this.expire(step, `${title}: no decision within the SLA${step.escalationGap ? `, and ${step.escalationGap}` : ''}`);
    if (action === 'approve') {
      const amount = this.run.amountOf(this.subject.input);
      const limit = timing.approveAtDeadlineBelow;
      if (amount === undefined || limit === undefined || amount >= limit) {
        return this.expire(step, `${title}: no decision within the SLA, and the policy approves at the deadline only below ${limit ?? 'a limit'}`);
      }
    }
    const decision: DecisionResult = {
      requestId: `${this.run.runId}:${step.spec.stepId}:a${step.attempt}:policy`,
      stepId: step.spec.stepId,
      decision: action === 'approve' ? 'approved' : 'rejected',
      comment: `${action === 'approve' ? 'Approved' : 'Rejected'} by policy at the deadline (policy version ${this.run.policyVersion})`,
      actorEmail: POLICY.email,
      decidedAt: Date.now(),
      nonce: '',
      version: this.subject.version,
      byPolicy: { policyVersion: this.run.policyVersion },
    };
    step.closed = true;
    log.info('decision applied', { step: step.spec.stepId, requestId: decision.requestId, decision: decision.decision, channel: 'policy' });
    await this.revokePending(step, `the step was ${decision.decision} by policy at the deadline`, 'approval.expired');
    this.decided.push(decision);
    await acts.recordPolicyDecision({ runId: this.run.runId, stepId: step.spec.stepId, stepTitle: title, decision, facts: this.subject.facts });
    if (decision.decision === 'approved') return { outcome: 'approved', decisions: [...this.decisionsOf(step), decision] };
    return { outcome: 'rejected', decision, approver: POLICY, decisions: [...this.decisionsOf(step), decision] };
  }

  private async expire(step: ActiveStep, reason: string): Promise<StepOutcome> {
    step.closed = true;
    log.info('step closed', { step: step.spec.stepId, outcome: 'expired' });
    await this.revokePending(step, 'the request expired', 'approval.expired');
    return { outcome: 'expired', reason };
  }

  private async revokePending(step: ActiveStep, reason: string, action: string, recordsFollow = false): Promise<void> {
    const requestIds = this.pending(step).map((seat) => seat.requestId!);
    // The decisions that closed the step are audited before what follows from them: here, or by what comes next.
    if (!(recordsFollow && requestIds.length === 0 && hasPatch(DECISION_RECORD_CARRIED_BY_NEXT_STEP))) await this.settleRecords();
    for (const id of requestIds) this.closeRequest(id, reason);
    if (requestIds.length) await acts.revokeApprovalRequests({ requestIds, reason, action });
  }

  private decisionsOf(step: ActiveStep): DecisionResult[] {
    return step.seats.flatMap((s) => (s.decision ? [s.decision] : [])).sort((a, b) => a.decidedAt - b.decidedAt);
  }

  private async close(step: ActiveStep, outcome: DecisionResult['decision'], recordsFollow: boolean): Promise<StepOutcome> {
    step.closed = true;
    log.info('step closed', { step: step.spec.stepId, outcome });
    await this.revokePending(step, 'the step was decided without this approval: it is no longer needed', 'approval.not_needed', recordsFollow);
    const decisions = this.decisionsOf(step);
    if (outcome === 'approved') return { outcome, decisions };
    const deciding = decisions.find((d) => d.decision === outcome)!;
    const seat = step.seats.find((s) => s.decision === deciding)!;
    return { outcome, decision: deciding, approver: seat.approver, decisions };
  }

  // ----- changes requested -----------------------------------------------------------------------------------

  private validateRevision(input: ReviseInput): void {
    if (!this.revision || this.revision.requestId !== input.requestId || this.revision.submitted) {
      refuse('This edit link is no longer open', DecisionRefusal.notOpen);
    }
    if (!same(input.actorEmail, this.run.requesterEmail)) {
      refuse(`${input.actorEmail} is not the requester`, DecisionRefusal.wrongApprover);
    }
  }

  private async applyRevision(input: ReviseInput): Promise<{ requestId: string }> {
    const revision = this.revision!;
    revision.submitted = true;
    // Runs that began before the patch went on with the edit at once (their histories replay that way).
    if (!hasPatch(REVISION_RECORDED_BEFORE_RESUMING)) revision.input = input.input;
    await acts.recordRevision({
      requestId: input.requestId,
      runId: this.run.runId,
      input: input.input,
      actorEmail: input.actorEmail,
      comment: input.comment ?? null,
      ip: input.ip,
      userAgent: input.userAgent,
    });
    revision.input = input.input;
    return { requestId: input.requestId };
  }

  /**
   * Sends the requester a link to edit the run's input after `asked` requested changes; resolves with the edited
   * input, or undefined when the requester did not answer within `timeout`.
   */
  async requestRevision(asked: { stepId: string; stepTitle: string; decision: DecisionResult; approver: Approver }, timeout: string) {
    const attempt = this.attempts.get(asked.stepId) ?? 1;
    const requestId = revisionRequestId(this.run.runId, asked.stepId, attempt);
    const revision: Revision = { requestId };
    this.revision = revision;
    const expiresAt = Date.now() + durationMs(timeout);
    await acts.openRevisionRequest({
      requestId,
      runId: this.run.runId,
      stepId: asked.stepId,
      stepTitle: asked.stepTitle,
      expiresAt,
      askedBy: asked.approver,
      comment: asked.decision.comment ?? '',
    });
    const answered = await condition(() => revision.submitted === true, expiresAt - Date.now());
    if (answered) {
      // An edit accepted just before the deadline still counts: wait for its record, not for the clock.
      if (revision.input === undefined) await condition(() => revision.input !== undefined);
      this.revision = undefined;
      return revision.input;
    }
    this.revision = undefined;
    await acts.revokeApprovalRequests({ requestIds: [requestId], reason: 'the request expired', action: 'revision.expired' });
    return undefined;
  }
}
