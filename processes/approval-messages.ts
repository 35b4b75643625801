/**
 * The contract between callers (API, integrations) and the approval step in workflows/approval.ts: the Update's
 * name and payloads. Kept here so the API does not import workflow code.
 */
export const DECIDE_UPDATE = 'decide';
export const APPROVALS_QUERY = 'approvals';

export type Decision = 'approved' | 'rejected';

export interface DecisionInput {
  requestId: string;
  decision: Decision;
  comment?: string | null;
  /** Who acts: the link's approver, or the identity behind an API key. */
  actorEmail: string;
  channel: 'link' | 'api';
  ip?: string;
  userAgent?: string;
  /** Chosen by the caller; echoed back so a caller can tell its own decision from an earlier duplicate. */
  nonce: string;
}

export interface DecisionResult {
  requestId: string;
  stepId: string;
  decision: Decision;
  comment: string | null;
  actorEmail: string;
  decidedAt: number;
  nonce: string;
}

/** ApplicationFailure types the decide validator uses to refuse a decision. */
export const DecisionRefusal = {
  notOpen: 'ApprovalNotOpen',
  alreadyDecided: 'ApprovalAlreadyDecided',
  wrongApprover: 'WrongApprover',
  invalid: 'InvalidDecision',
  reasonRequired: 'ReasonRequired',
} as const;
export type DecisionRefusal = (typeof DecisionRefusal)[keyof typeof DecisionRefusal];

/**
 * One id per approver per step round, derived the same way by the workflow (which must accept a decision as soon
 * as the mail can be clicked) and by the activity (whose retries must find their own row).
 */
export function approvalRequestId(runId: string, stepId: string, round: number): string {
  return `${runId}:${stepId}:${round}`;
}
