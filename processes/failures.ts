/**
 * Every ApplicationFailure type Opsflow's workflows and activities raise, in one place: the API, the worker's
 * metrics and tests match on these names. Refusals of Updates (decide, reassign, revise) are in
 * approval-messages.ts (DecisionRefusal); failures of external systems are `<System>Unavailable` (retried) and
 * `<System>Rejected` (not retried), see activities/http-system.ts.
 */
export const FailureType = {
  /** A role a process names resolves to nobody in the directory. */
  approverNotFound: 'ApproverNotFound',
  /** A k-of-n step found fewer than k approvers. */
  quorumUnreachable: 'QuorumUnreachable',
  /** Separation of duties left a step without the seats its rule needs (and no fallback role could fill them). */
  noEligibleApprover: 'NoEligibleApprover',
  /** The policy in force for a scheduled run does not meet this deployment's bounds. */
  policyInvalid: 'PolicyInvalid',
  unknownProcess: 'UnknownProcess',
  emailRejected: 'EmailRejected',
  equipmentNotCancellable: 'EquipmentNotCancellable',
  eventInvalid: 'EventInvalid',
  eventNotAwaited: 'EventNotAwaited',
  formClosed: 'FormClosed',
  webhookDeliveryFailed: 'WebhookDeliveryFailed',
  /** The egress policy refused the destination (not public, not allowed): not retried. */
  webhookDestinationRefused: 'WebhookDestinationRefused',
  /** A sign-in link the mail activity was asked to send is not in the database (never retried). */
  signInLinkMissing: 'SignInLinkMissing',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];
