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
import { durationMs } from '../processes/duration.js';
import {
  APPROVALS_QUERY,
  approvalRequestId,
  DECIDE_UPDATE,
  DecisionRefusal,
  type DecisionInput,
  type DecisionResult,
} from '../processes/approval-messages.js';
import type { ApprovalTiming } from '../processes/shared.js';

export type { DecisionInput, DecisionResult } from '../processes/approval-messages.js';

export interface OpenApproval {
  requestId: string;
  stepId: string;
  approver: Approver;
  expiresAt: number;
}

/** Decisions are Updates: the validator refuses closed steps and wrong approvers before anything is recorded. */
export const decideUpdate = defineUpdate<DecisionResult, [DecisionInput]>(DECIDE_UPDATE);
export const approvalsQuery = defineQuery<{ open: OpenApproval[]; decided: DecisionResult[] }>(APPROVALS_QUERY);

export interface ApprovalStepSpec {
  stepId: string;
  title: string;
  /** Role reference resolved when the step opens: "manager-of-requester", "role:cfo", "person:x@y.z". */
  approver: string;
  timing: ApprovalTiming;
}

export type StepOutcome =
  | { outcome: 'approved' | 'rejected'; decision: DecisionResult; approver: Approver }
  | { outcome: 'expired'; reason: string };

export interface ApprovalDeskHooks {
  /** Called whenever a step starts waiting on someone, so the run's read model and search attributes follow. */
  onWaiting?(step: ApprovalStepSpec, approver: Approver): Promise<void>;
}

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const resolveOnce = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', nonRetryableErrorTypes: ['ApproverNotFound'] },
});

function refuse(message: string, type: DecisionRefusal): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true });
}

interface Waiting extends OpenApproval {
  decision?: DecisionResult;
}

/**
 * The approval step every process uses: request → wait → remind → escalate → expire. One desk per run; it owns
 * the `decide` Update and the `approvals` query for every step of that run.
 */
export class ApprovalDesk {
  private readonly waiting = new Map<string, Waiting>();
  private readonly decided: DecisionResult[] = [];

  constructor(
    private readonly run: { runId: string; requesterEmail: string },
    private readonly hooks: ApprovalDeskHooks = {},
  ) {
    setHandler(decideUpdate, (input) => this.applyDecision(input), { validator: (input) => this.validate(input) });
    setHandler(approvalsQuery, () => ({
      open: [...this.waiting.values()].filter((w) => !w.decision).map(({ decision: _d, ...open }) => open),
      decided: [...this.decided],
    }));
  }

  openRequestIds(): string[] {
    return [...this.waiting.values()].filter((w) => !w.decision).map((w) => w.requestId);
  }

  private validate(input: DecisionInput): void {
    const waiting = this.waiting.get(input.requestId);
    if (!waiting) refuse('This approval request is no longer open', DecisionRefusal.notOpen);
    if (waiting.decision) refuse('This approval request was already decided', DecisionRefusal.alreadyDecided);
    if (input.actorEmail.toLowerCase() !== waiting.approver.email.toLowerCase()) {
      refuse(`${input.actorEmail} is not the approver of this request`, DecisionRefusal.wrongApprover);
    }
    if (input.decision !== 'approved' && input.decision !== 'rejected') refuse('Unknown decision', DecisionRefusal.invalid);
    if (input.decision === 'rejected' && !input.comment?.trim()) refuse('A reason is required to reject', DecisionRefusal.reasonRequired);
  }

  private async applyDecision(input: DecisionInput): Promise<DecisionResult> {
    const waiting = this.waiting.get(input.requestId)!;
    const result: DecisionResult = {
      requestId: input.requestId,
      stepId: waiting.stepId,
      decision: input.decision,
      comment: input.comment?.trim() || null,
      actorEmail: waiting.approver.email,
      decidedAt: Date.now(),
      nonce: input.nonce,
    };
    // Set before awaiting anything, so a racing decision on the same request fails validation.
    waiting.decision = result;
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

  /** Runs one single-approver step to its outcome. Cancellation propagates; the caller revokes open links. */
  async step(spec: ApprovalStepSpec): Promise<StepOutcome> {
    let approver = await resolveOnce.resolveApprover({ role: spec.approver, subjectEmail: this.run.requesterEmail });
    let escalatedFrom: Approver | undefined;
    let timeoutMs = durationMs(spec.timing.timeout);

    for (let round = 1; ; round++) {
      const expiresAt = Date.now() + timeoutMs;
      // The run shows whom it waits on before that person's e-mail can arrive.
      await this.hooks.onWaiting?.(spec, approver);
      // Open for decisions before the mail goes out: an approver may click faster than the activity returns.
      const requestId = approvalRequestId(this.run.runId, spec.stepId, round);
      const waiting: Waiting = { requestId, stepId: spec.stepId, approver, expiresAt };
      this.waiting.set(requestId, waiting);
      await acts.openApprovalRequest({
        runId: this.run.runId,
        stepId: spec.stepId,
        stepTitle: spec.title,
        round,
        approver,
        expiresAt,
        escalatedFrom,
      });

      const decision = await this.waitWithReminders(waiting, durationMs(spec.timing.reminderAfter));
      this.waiting.delete(requestId);
      if (decision) return { outcome: decision.decision, decision, approver };

      const escalateTo = round === 1 && spec.timing.onTimeout === 'escalate' ? await this.escalationApprover(spec, approver) : undefined;
      if (escalateTo) {
        await acts.revokeApprovalRequests({
          requestIds: [requestId],
          reason: `the request was escalated to ${escalateTo.name}`,
          action: 'approval.superseded',
        });
        escalatedFrom = approver;
        approver = escalateTo;
        timeoutMs = durationMs(spec.timing.escalationTimeout);
        continue;
      }
      await acts.revokeApprovalRequests({ requestIds: [requestId], reason: 'the request expired', action: 'approval.expired' });
      return { outcome: 'expired', reason: `${spec.title}: no decision within the SLA` };
    }
  }

  private async waitWithReminders(waiting: Waiting, reminderEveryMs: number): Promise<DecisionResult | undefined> {
    let remindersSent = 0;
    for (;;) {
      const remaining = waiting.expiresAt - Date.now();
      if (remaining <= 0) return waiting.decision;
      const decided = await condition(() => waiting.decision !== undefined, Math.min(remaining, reminderEveryMs));
      if (decided) return waiting.decision;
      if (Date.now() < waiting.expiresAt) {
        remindersSent += 1;
        await acts.remindApprover({ requestId: waiting.requestId, reminderNumber: remindersSent });
      }
    }
  }

  /** No one to escalate to (e.g. the approver has no manager on record) means the step expires instead. */
  private async escalationApprover(spec: ApprovalStepSpec, from: Approver): Promise<Approver | undefined> {
    try {
      const next = await resolveOnce.resolveApprover({ role: spec.timing.escalateTo, subjectEmail: from.email });
      return next.email.toLowerCase() === from.email.toLowerCase() ? undefined : next;
    } catch {
      return undefined;
    }
  }
}
