/**
 * The contract between callers (API, integrations) and the approval step in workflows/approval.ts: the Update's
 * name and payloads. Kept here so the API does not import workflow code.
 */
export const DECIDE_UPDATE = 'decide';
export const REASSIGN_UPDATE = 'reassign';
export const REVISE_UPDATE = 'revise';
export const APPROVALS_QUERY = 'approvals';
/** Sent just before the run is cancelled, so its record says who cancelled it and why. */
export const CANCEL_REASON_SIGNAL = 'cancelReason';

export interface CancelReason {
  actorEmail: string;
  reason: string;
}

export type Decision = 'approved' | 'rejected' | 'changes_requested';

/** Where a decision came from, recorded as evidence in its audit entry: every channel goes through the same Update. */
export type DecisionChannel = 'link' | 'api' | 'inbox' | 'slack' | 'email-reply';

/** How a decision is recorded as having come: a person's channel, or `policy` when the deadline action decided. */
export type RecordedChannel = DecisionChannel | 'policy';

/**
 * Whether a request was closed because nobody decided in time and the policy's deadline action decided its step:
 * workflows/approval.ts (`atDeadline`) revokes such requests with "the step was approved|rejected by policy at the
 * deadline". Its SQL twin is in api/kpis.ts.
 */
export function closedByPolicyAtDeadline(revokedReason: string | null): boolean {
  return revokedReason?.endsWith(' by policy at the deadline') ?? false;
}

/** How a step with several approvers closes: everyone, anyone, or k of them. */
export type ApprovalRule = { kind: 'all' } | { kind: 'any' } | { kind: 'quorum'; required: number };

export interface DecisionInput {
  requestId: string;
  decision: Decision;
  comment?: string | null;
  /** Who acts: the link's approver, or the identity behind an API key. */
  actorEmail: string;
  channel: DecisionChannel;
  ip?: string;
  userAgent?: string;
  /** Chosen by the caller; echoed back so a caller can tell its own decision from an earlier duplicate. */
  nonce: string;
  /** The version of the facts the approver was shown (processes/facts.ts); any other is refused as stale. */
  version: string;
}

export interface DecisionResult {
  requestId: string;
  stepId: string;
  decision: Decision;
  comment: string | null;
  actorEmail: string;
  decidedAt: number;
  nonce: string;
  /** The version decided on; for a decision taken by policy at the deadline, the version in force then. */
  version: string;
  /** Set when no person decided: the policy's deadline action did, under this policy version. */
  byPolicy?: { policyVersion: number };
}

/** Ops staff move an open request to someone else; the old link stops working. */
export interface ReassignInput {
  requestId: string;
  toEmail: string;
  actorEmail: string;
  reason?: string;
}

export interface ReassignResult {
  oldRequestId: string;
  newRequestId: string;
  approverEmail: string;
}

/** The requester's edited input after an approver asked for changes (already validated by the API). */
export interface ReviseInput {
  requestId: string;
  input: Record<string, unknown>;
  actorEmail: string;
  comment?: string | null;
  ip?: string;
  userAgent?: string;
}

/** ApplicationFailure types the validators use to refuse a message. */
export const DecisionRefusal = {
  notOpen: 'ApprovalNotOpen',
  alreadyDecided: 'ApprovalAlreadyDecided',
  wrongApprover: 'WrongApprover',
  invalid: 'InvalidDecision',
  reasonRequired: 'ReasonRequired',
  sameApprover: 'SameApprover',
  notNeeded: 'ApprovalNotNeeded',
  /** The facts changed since the approver's page was rendered: decide again on the current version. */
  staleVersion: 'StaleVersion',
  /** Separation of duties: the requester, the starter, or someone who decided another step. */
  separationOfDuties: 'SeparationOfDuties',
} as const;
export type DecisionRefusal = (typeof DecisionRefusal)[keyof typeof DecisionRefusal];

/**
 * One id per approver per step round, derived the same way by the workflow (which must accept a decision as soon
 * as the mail can be clicked) and by the activity (whose retries must find their own row).
 */
export function approvalRequestId(runId: string, stepId: string, at: { attempt: number; seat: number; round: number }): string {
  return `${approvalSeatsPrefix(runId, stepId, at.attempt)}${at.seat}:r${at.round}`;
}

/** What every seat's request id of one attempt at a step starts with. */
export function approvalSeatsPrefix(runId: string, stepId: string, attempt: number): string {
  return `${runId}:${stepId}:a${attempt}:s`;
}

/** Whether `requestId` is the first request (round 1) of some seat of this attempt at the step. */
export function isFirstRoundSeatRequest(requestId: string, runId: string, stepId: string, attempt: number): boolean {
  const prefix = approvalSeatsPrefix(runId, stepId, attempt);
  return requestId.startsWith(prefix) && /^\d+:r1$/.test(requestId.slice(prefix.length));
}

/** The requester's edit link after changes were requested: one per step attempt. */
export function revisionRequestId(runId: string, stepId: string, attempt: number): string {
  return `${runId}:${stepId}:a${attempt}:revision`;
}

/** Someone outside the company (a supplier) fills in a form through an e-mailed link. */
export const SUBMIT_FORM_UPDATE = 'submitForm';

export interface FormSubmission {
  requestId: string;
  /** Already validated by the API with the process's own schema. */
  values: Record<string, unknown>;
  actorEmail: string;
  ip?: string;
  userAgent?: string;
}
