import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Approver } from '../activities/records.js';
import {
  APPROVALS_QUERY,
  approvalRequestId,
  DECIDE_UPDATE,
  DecisionRefusal,
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
import { durationMs } from '../processes/duration.js';
import type { ApprovalTiming } from '../processes/shared.js';

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
export const approvalsQuery = defineQuery<{ open: OpenApproval[]; decided: DecisionResult[] }>(APPROVALS_QUERY);

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
}

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const lookups = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['ApproverNotFound'] },
});

function refuse(message: string, type: DecisionRefusal): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true });
}

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
}

interface Revision {
  requestId: string;
  input?: Record<string, unknown>;
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

/**
 * The approval step every process uses: request → wait → remind → escalate → expire, for one approver or several
 * (all-of, any-of, k-of-n). One desk per run; it owns the run's `decide`, `reassign` and `revise` Updates.
 */
export class ApprovalDesk {
  /** Every request that can still be decided, by request id. */
  private readonly open = new Map<string, { step: ActiveStep; seat: Seat }>();
  private readonly decided: DecisionResult[] = [];
  /** Why a request stopped being open, so a late decision is told the same reason its link page shows. */
  private readonly closedBecause = new Map<string, string>();
  private readonly attempts = new Map<string, number>();
  private revision?: Revision;

  constructor(
    private readonly run: { runId: string; requesterEmail: string },
    private readonly hooks: ApprovalDeskHooks = {},
  ) {
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
    }));
  }

  /** Every link that still works: approvers' requests and an unanswered edit link. */
  openRequestIds(): string[] {
    const revision = this.revision && !this.revision.input ? [this.revision.requestId] : [];
    return [...this.open.keys(), ...revision];
  }

  // ----- decisions -------------------------------------------------------------------------------------------

  private validateDecision(input: DecisionInput): void {
    const entry = this.open.get(input.requestId);
    if (!entry) refuse(this.closedBecause.get(input.requestId) ?? 'This approval request is no longer open', DecisionRefusal.notOpen);
    if (entry.seat.decision) refuse('This approval request was already decided', DecisionRefusal.alreadyDecided);
    // Another approver's decision in the same instant may have closed the step: this vote is no longer needed.
    if (stepOutcome(entry.step.rule, entry.step.seats.map((s) => s.decision?.decision))) {
      refuse('The step was decided without this approval: it is no longer needed', DecisionRefusal.notNeeded);
    }
    if (input.actorEmail.toLowerCase() !== entry.seat.approver.email.toLowerCase()) {
      refuse(`${input.actorEmail} is not the approver of this request`, DecisionRefusal.wrongApprover);
    }
    if (!['approved', 'rejected', 'changes_requested'].includes(input.decision)) refuse('Unknown decision', DecisionRefusal.invalid);
    if (input.decision !== 'approved' && !input.comment?.trim()) {
      refuse(input.decision === 'rejected' ? 'A reason is required to reject' : 'Say what should change', DecisionRefusal.reasonRequired);
    }
  }

  private async applyDecision(input: DecisionInput): Promise<DecisionResult> {
    const { step, seat } = this.open.get(input.requestId)!;
    const result: DecisionResult = {
      requestId: input.requestId,
      stepId: step.spec.stepId,
      decision: input.decision,
      comment: input.comment?.trim() || null,
      actorEmail: seat.approver.email,
      decidedAt: Date.now(),
      nonce: input.nonce,
    };
    // Recorded before awaiting anything, so a racing decision on the same request fails validation.
    seat.decision = result;
    this.open.delete(input.requestId);
    this.decided.push(result);
    await acts.recordDecision({
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
    });
    return result;
  }

  // ----- reassignment ----------------------------------------------------------------------------------------

  private validateReassign(input: ReassignInput): void {
    const entry = this.open.get(input.requestId);
    if (!entry) refuse('This approval request is no longer open', DecisionRefusal.notOpen);
    if (entry.seat.approver.email.toLowerCase() === input.toEmail.toLowerCase()) {
      refuse(`${input.toEmail} already holds this request`, DecisionRefusal.sameApprover);
    }
  }

  private async reassign(input: ReassignInput): Promise<ReassignResult> {
    const { step, seat } = this.open.get(input.requestId)!;
    this.closeRequest(input.requestId, `the request was reassigned to ${input.toEmail}`);
    const approver = await lookups.resolveApprover({ role: `person:${input.toEmail}`, subjectEmail: seat.approver.email });
    await acts.revokeApprovalRequests({
      requestIds: [input.requestId],
      reason: `the request was reassigned to ${approver.name}`,
      action: 'approval.reassigned',
      actor: input.actorEmail,
      details: { to: approver.email, ...(input.reason ? { reason: input.reason } : {}) },
    });
    seat.approver = approver;
    seat.round += 1;
    const newRequestId = await this.openSeat(step, seat, {});
    return { oldRequestId: input.requestId, newRequestId, approverEmail: approver.email };
  }

  private closeRequest(requestId: string, reason: string): void {
    this.open.delete(requestId);
    this.closedBecause.set(requestId, reason.charAt(0).toUpperCase() + reason.slice(1));
  }

  // ----- steps -----------------------------------------------------------------------------------------------

  private async openSeat(step: ActiveStep, seat: Seat, extra: { escalatedFrom?: Approver }): Promise<string> {
    // Open for decisions before the mail goes out: an approver may click faster than the activity returns.
    const requestId = approvalRequestId(this.run.runId, step.spec.stepId, { attempt: step.attempt, seat: seat.seat, round: seat.round });
    seat.requestId = requestId;
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
    });
    return requestId;
  }

  /** Runs one step to its outcome. Cancellation propagates; the caller revokes what is still open. */
  async step(spec: ApprovalStepSpec): Promise<StepOutcome> {
    const attempt = (this.attempts.get(spec.stepId) ?? 0) + 1;
    this.attempts.set(spec.stepId, attempt);
    const rule: ApprovalRule = spec.rule ?? { kind: 'all' };
    const approvers = await lookups.resolveApprovers({ roles: spec.approvers, subjectEmail: this.run.requesterEmail });
    if (rule.kind === 'quorum' && rule.required > approvers.length) {
      throw ApplicationFailure.nonRetryable(
        `${spec.title} needs ${rule.required} approvals but only ${approvers.length} approvers were found`,
        'QuorumUnreachable',
      );
    }
    const expiresAt = Date.now() + durationMs(spec.timing.timeout);
    const step: ActiveStep = { spec, rule, attempt, seats: approvers.map((approver, seat) => ({ seat, approver, round: 1, expiresAt })) };

    // The run shows whom it waits on before their e-mails can arrive.
    await this.hooks.onWaiting?.(spec, approvers);
    await Promise.all(step.seats.map((seat) => this.openSeat(step, seat, {})));

    let escalated = false;
    for (;;) {
      const outcome = await this.waitForOutcome(step, rule);
      if (outcome) return this.close(step, outcome);
      if (!escalated && spec.timing.onTimeout === 'escalate' && (await this.escalate(step))) {
        escalated = true;
        continue;
      }
      await this.revokePending(step, 'the request expired', 'approval.expired');
      return { outcome: 'expired', reason: `${spec.title}: no decision within the SLA` };
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
      if (await condition(() => decide() !== undefined, Math.min(remaining, reminderEveryMs))) return decide();
      if (Date.now() >= deadline) continue;
      for (const seat of this.pending(step)) {
        const sent = (reminders.get(seat.requestId!) ?? 0) + 1;
        reminders.set(seat.requestId!, sent);
        await acts.remindApprover({ requestId: seat.requestId!, reminderNumber: sent });
      }
    }
  }

  /** Each approver who did not act passes the request to the escalation approver. False when nobody can take it. */
  private async escalate(step: ActiveStep): Promise<boolean> {
    const expiresAt = Date.now() + durationMs(step.spec.timing.escalationTimeout);
    let moved = false;
    for (const seat of this.pending(step)) {
      const next = await this.escalationApprover(step.spec, seat.approver);
      if (!next) continue;
      const from = seat.approver;
      this.closeRequest(seat.requestId!, `the request was escalated to ${next.name}`);
      await acts.revokeApprovalRequests({
        requestIds: [seat.requestId!],
        reason: `the request was escalated to ${next.name}`,
        action: 'approval.superseded',
      });
      seat.approver = next;
      seat.round += 1;
      seat.expiresAt = expiresAt;
      await this.openSeat(step, seat, { escalatedFrom: from });
      moved = true;
    }
    return moved;
  }

  /** No one to escalate to (e.g. the approver has no manager on record) means the seat cannot escalate. */
  private async escalationApprover(spec: ApprovalStepSpec, from: Approver): Promise<Approver | undefined> {
    try {
      const next = await lookups.resolveApprover({ role: spec.timing.escalateTo, subjectEmail: from.email });
      return next.email.toLowerCase() === from.email.toLowerCase() ? undefined : next;
    } catch {
      return undefined;
    }
  }

  private async revokePending(step: ActiveStep, reason: string, action: string): Promise<void> {
    const requestIds = this.pending(step).map((seat) => seat.requestId!);
    for (const id of requestIds) this.closeRequest(id, reason);
    if (requestIds.length) await acts.revokeApprovalRequests({ requestIds, reason, action });
  }

  private async close(step: ActiveStep, outcome: DecisionResult['decision']): Promise<StepOutcome> {
    await this.revokePending(step, 'the step was decided without this approval: it is no longer needed', 'approval.not_needed');
    const decisions = step.seats.flatMap((s) => (s.decision ? [s.decision] : [])).sort((a, b) => a.decidedAt - b.decidedAt);
    if (outcome === 'approved') return { outcome, decisions };
    const deciding = decisions.find((d) => d.decision === outcome)!;
    const seat = step.seats.find((s) => s.decision === deciding)!;
    return { outcome, decision: deciding, approver: seat.approver, decisions };
  }

  // ----- changes requested -----------------------------------------------------------------------------------

  private validateRevision(input: ReviseInput): void {
    if (!this.revision || this.revision.requestId !== input.requestId || this.revision.input) {
      refuse('This edit link is no longer open', DecisionRefusal.notOpen);
    }
    if (input.actorEmail.toLowerCase() !== this.run.requesterEmail.toLowerCase()) {
      refuse(`${input.actorEmail} is not the requester`, DecisionRefusal.wrongApprover);
    }
  }

  private async applyRevision(input: ReviseInput): Promise<{ requestId: string }> {
    this.revision!.input = input.input;
    await acts.recordRevision({
      requestId: input.requestId,
      runId: this.run.runId,
      input: input.input,
      actorEmail: input.actorEmail,
      comment: input.comment ?? null,
      ip: input.ip,
      userAgent: input.userAgent,
    });
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
    const answered = await condition(() => revision.input !== undefined, expiresAt - Date.now());
    this.revision = undefined;
    if (answered) return revision.input;
    await acts.revokeApprovalRequests({ requestIds: [requestId], reason: 'the request expired', action: 'revision.expired' });
    return undefined;
  }
}
