import { z } from 'zod';
import type { ApprovalRequest, AuditEntry, Run } from '../lib/generated/prisma/client.js';
import { closedByPolicyAtDeadline, type RecordedChannel } from '../processes/approval-messages.js';
import { factsOf, findProcess } from '../processes/index.js';

/** The wire shapes below, for the route table (OpenAPI and the test-mode response check). */
const timestamp = z.iso.datetime();
/** `not_started`: recorded, but the start did not reach Temporal (listed only when asked for). */
export const runStatusSchema = z.enum(['running', 'completed', 'rejected', 'expired', 'cancelled', 'failed', 'not_started']);
export const factSchema = z.object({ label: z.string(), value: z.string() });

export const runSummarySchema = z
  .object({
    runId: z.string().meta({ example: 'capex-5f0c2a9e-3b7d-4e61-9d0a-1f2e3d4c5b6a' }),
    process: z.string().meta({ example: 'capex' }),
    title: z.string(),
    status: runStatusSchema,
    currentStep: z.string().nullable(),
    requester: z.object({ name: z.string(), email: z.string() }),
    amount: z.number().nullable(),
    currency: z.string().nullable(),
    startedAt: timestamp,
    closedAt: timestamp.nullable(),
    stuck: z.object({ since: timestamp, reason: z.string().nullable() }).nullable().describe('From the last health sweep; GET /runs/{id} asks Temporal directly'),
  })
  .meta({ id: 'RunSummary' });

/** Every channel a decision is recorded with, and how pages name it. */
export const CHANNEL_LABELS: Record<RecordedChannel, string> = {
  link: 'link',
  api: 'API',
  slack: 'Slack',
  'email-reply': 'e-mail reply',
  inbox: 'inbox',
  policy: 'policy at deadline',
};
export const isRecordedChannel = (value: unknown): value is RecordedChannel => typeof value === 'string' && Object.hasOwn(CHANNEL_LABELS, value);
export const decisionChannelSchema = z
  .enum(Object.keys(CHANNEL_LABELS) as [RecordedChannel, ...RecordedChannel[]])
  .describe('How the decision came: an e-mailed link, the API, Slack, a reply to the mail, My approvals (inbox), or the policy at the deadline');

/** The channel each request was decided by, read from the decisions' audit entries (the evidence). */
export function decisionChannelsOf(entries: Array<Pick<AuditEntry, 'action' | 'details'>>): Map<string, RecordedChannel> {
  const channels = new Map<string, RecordedChannel>();
  for (const { action, details } of entries) {
    if (action !== 'approval.decided') continue;
    const { requestId, channel } = (details ?? {}) as { requestId?: unknown; channel?: unknown };
    if (typeof requestId === 'string' && isRecordedChannel(channel)) channels.set(requestId, channel);
  }
  return channels;
}

export const approvalStateSchema = z.enum(['pending', 'approved', 'rejected', 'changes_requested', 'revised', 'submitted', 'expired', 'revoked']);

export const approvalViewSchema = z
  .object({
    requestId: z.string(),
    step: z.string(),
    stepTitle: z.string(),
    round: z.number().int(),
    approver: z.object({ name: z.string(), email: z.string(), role: z.string() }),
    state: approvalStateSchema,
    decision: z.string().nullable(),
    comment: z.string().nullable(),
    decidedBy: z.string().nullable(),
    decidedAt: timestamp.nullable(),
    channel: decisionChannelSchema.nullable().describe('How it was decided; `policy` when nobody decided in time and the deadline action decided the step; null while open or when closed without a decision'),
    requestedAt: timestamp,
    expiresAt: timestamp,
    remindersSent: z.number().int(),
    revokedReason: z.string().nullable(),
    decidedVersion: z.string().nullable(),
    factsSnapshot: z.unknown().describe('The facts the approver saw when deciding'),
  })
  .meta({ id: 'Approval' });

export const runHealthSchema = z.union([
  z.object({ status: z.literal('ok') }),
  z.object({ status: z.literal('stuck'), reason: z.string(), attempts: z.number().int(), since: timestamp.nullable() }),
  z.object({ status: z.literal('unknown'), reason: z.string() }),
]);

export const runDetailSchema = runSummarySchema
  .extend({
    processTitle: z.string(),
    outcome: z.string().nullable(),
    failureReason: z.string().nullable(),
    failure: z.object({ step: z.string().nullable(), reason: z.string().nullable() }).nullable(),
    input: z.record(z.string(), z.unknown()).describe("The run's input, as the process schema (GET /processes/{key}) has it"),
    facts: z.array(factSchema).describe('What approvers are shown now'),
    version: z.string().describe('The version of the facts; a decision over the API names it'),
    startedBy: z.string().nullable(),
    policy: z.object({ version: z.number().int().nullable(), overridden: z.boolean(), effective: z.unknown() }),
    settings: z.unknown(),
    approvals: z.array(approvalViewSchema),
    timeline: z.array(
      z.object({ at: timestamp, action: z.string(), actor: z.string(), onBehalfOf: z.string().nullable(), step: z.string().nullable(), details: z.unknown() }),
    ),
    health: runHealthSchema.describe('Asked of Temporal when the run is read'),
  })
  .meta({ id: 'Run' });

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

/** A request as the API shows it; `channels` (decisionChannelsOf the run's audit) says how each decided one came. */
export function approvalView(a: ApprovalRequest, channels: ReadonlyMap<string, RecordedChannel>) {
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
    channel: a.usedAt ? (channels.get(a.id) ?? null) : closedByPolicyAtDeadline(a.revokedReason) ? ('policy' as const) : null,
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
  const channels = decisionChannelsOf(run.audit);
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
    approvals: run.approvals.map((a) => approvalView(a, channels)),
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
