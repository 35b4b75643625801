import type { ApprovalRequest, AuditEntry, Run } from '../lib/generated/prisma/client.js';
import { factsOf, findProcess } from '../processes/index.js';

/** The JSON shapes of runs the API returns. Dates as ISO strings, amounts as numbers. */
export function runSummary(run: Run) {
  return {
    runId: run.id,
    process: run.process,
    title: run.title,
    status: run.status,
    currentStep: run.currentStep,
    requester: { name: run.requesterName, email: run.requesterEmail },
    amount: run.amount === null ? null : Number(run.amount),
    currency: run.currency,
    startedAt: run.startedAt.toISOString(),
    closedAt: run.closedAt?.toISOString() ?? null,
    /** From the last health sweep; GET /runs/:id asks Temporal directly. */
    stuck: run.status === 'running' && run.stuckSince !== null ? { since: run.stuckSince.toISOString(), reason: run.stuckReason } : null,
  };
}

export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'changes_requested' | 'revised' | 'submitted' | 'expired' | 'revoked';

/** A used request shows what was done with it (a form has no decision: it was submitted). */
export function approvalState(a: ApprovalRequest, now = new Date()): ApprovalState {
  if (a.usedAt) return (a.decision as ApprovalState | null) ?? 'submitted';
  if (a.revokedAt) return a.revokedReason === 'the request expired' ? 'expired' : 'revoked';
  if (a.expiresAt <= now) return 'expired';
  return 'pending';
}

export function approvalView(a: ApprovalRequest) {
  return {
    requestId: a.id,
    step: a.stepId,
    stepTitle: a.stepTitle,
    round: a.round,
    approver: { name: a.approverName, email: a.approverEmail, role: a.approverRole },
    state: approvalState(a),
    decision: a.decision,
    comment: a.comment,
    decidedBy: a.decidedBy,
    decidedAt: a.usedAt?.toISOString() ?? null,
    requestedAt: a.createdAt.toISOString(),
    expiresAt: a.expiresAt.toISOString(),
    remindersSent: a.remindersSent,
    revokedReason: a.revokedReason,
    /** The version decided on, and the facts the approver saw then (unchanged by later edits). */
    decidedVersion: a.decidedVersion,
    factsSnapshot: a.factsSnapshot,
  };
}

export function runDetail(run: Run & { approvals: ApprovalRequest[]; audit: AuditEntry[] }) {
  const process = findProcess(run.process);
  const current = process ? factsOf(process, run.input) : { facts: [], version: '' };
  const failed = run.status === 'failed' ? run.audit.find((entry) => entry.action === 'run.failed') : undefined;
  return {
    ...runSummary(run),
    processTitle: process?.title ?? run.process,
    outcome: run.outcome,
    failureReason: run.failureReason,
    /** Where a failed run stopped and why, e.g. { step: 'create-vendor', reason: 'Erp answered 422: …' }. */
    failure: run.status === 'failed' ? { step: failed?.step ?? null, reason: run.failureReason } : null,
    input: run.input,
    /** What approvers are shown now, and its version: a decision over the API names it (`version`). */
    facts: current.facts,
    version: current.version,
    startedBy: run.startedBy,
    policy: { version: run.policyVersion, overridden: Object.keys((run.settings as Record<string, unknown> | null) ?? {}).length > 0, effective: run.policy },
    settings: run.settings,
    approvals: run.approvals.map(approvalView),
    timeline: run.audit.map((entry) => ({
      at: entry.at.toISOString(),
      action: entry.action,
      actor: entry.actor,
      onBehalfOf: entry.onBehalfOf,
      step: entry.step,
      details: entry.details,
    })),
  };
}
