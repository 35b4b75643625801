import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { columnsOf, Prisma, sqlTimestamp } from '../lib/db.js';
import type { ApprovalRequest, Run } from '../lib/generated/prisma/client.js';
import { addLogFields, type LogContext } from '../lib/log-context.js';
import { hashToken, looksLikeToken } from '../lib/tokens.js';
import {
  DECIDE_UPDATE,
  DecisionRefusal,
  type Decision,
  type DecisionChannel,
  type DecisionInput,
  type DecisionResult,
} from '../processes/approval-messages.js';
import { insertAuditEntry } from '../lib/outbound-webhooks.js';
import type { ApiContext } from './context.js';
import { approvalResultPage, type ResultPageProps } from './pages/approval.js';
import { wakeWebhooks } from './run-service.js';

/** Why a link cannot be acted on, in the words the result page uses. */
export type LinkRefusal =
  | { kind: 'not_found' }
  | { kind: 'already_decided'; approval: ApprovalRequest }
  | { kind: 'expired'; approval: ApprovalRequest }
  | { kind: 'revoked'; approval: ApprovalRequest }
  | { kind: 'closed'; approval: ApprovalRequest; run: Run };

export type LinkLookup = { ok: true; approval: ApprovalRequest; run: Run } | ({ ok: false } & LinkRefusal);

/** What a request's log lines say about the run an approval request belongs to (lib/log-context.ts). */
export function runLogFields(run: Pick<Run, 'id' | 'process'>, approval: Pick<ApprovalRequest, 'stepId'>): LogContext {
  return { runId: run.id, process: run.process, step: approval.stepId };
}

/** The approval request's columns and its run's, each under a prefix of its own, for one joined statement. */
const joinedColumns = Prisma.join([columnsOf('a', Prisma.ApprovalRequestScalarFieldEnum, true), columnsOf('r', Prisma.RunScalarFieldEnum, true)]);

/** `where` as SQL when it only names ApprovalRequest columns by equality (or IS NULL); undefined otherwise. */
function simpleCondition(where: Prisma.ApprovalRequestWhereInput): Prisma.Sql | undefined {
  const columns = new Set<string>(Object.values(Prisma.ApprovalRequestScalarFieldEnum));
  const parts: Prisma.Sql[] = [];
  for (const [field, value] of Object.entries(where)) {
    if (value === undefined) continue;
    if (!columns.has(field)) return undefined;
    if (value === null) parts.push(Prisma.sql`a.${Prisma.raw(`"${field}"`)} IS NULL`);
    else if (typeof value === 'string' || typeof value === 'number') parts.push(Prisma.sql`a.${Prisma.raw(`"${field}"`)} = ${value}`);
    else return undefined;
  }
  return parts.length ? Prisma.join(parts, ' AND ') : undefined;
}

function simpleOrder(orderBy: Prisma.ApprovalRequestOrderByWithRelationInput | undefined): Prisma.Sql | undefined {
  if (!orderBy) return Prisma.empty;
  const entries = Object.entries(orderBy);
  const [field, direction] = entries[0] ?? [];
  if (entries.length !== 1 || !Object.values(Prisma.ApprovalRequestScalarFieldEnum).includes(field as never) || (direction !== 'asc' && direction !== 'desc')) return undefined;
  return Prisma.raw(`ORDER BY a."${field}" ${direction === 'desc' ? 'DESC' : 'ASC'}`);
}

/**
 * The first approval request matching `where`, with its run, in one statement (one commit, one round trip): the
 * request and its run joined, each column under a prefix, split back into the two rows Prisma would give (the raw
 * query maps types as Prisma does: dates, JSON, Decimal). A `where` other than column equalities goes through
 * Prisma (its `include` is a second statement, so both run in one transaction).
 */
export async function findApprovalWithRun(
  db: ApiContext['db'],
  where: Prisma.ApprovalRequestWhereInput,
  orderBy?: Prisma.ApprovalRequestOrderByWithRelationInput,
): Promise<(ApprovalRequest & { run: Run }) | null> {
  const condition = simpleCondition(where);
  const order = simpleOrder(orderBy);
  if (!condition || !order) return db.$transaction((tx) => tx.approvalRequest.findFirst({ where, orderBy, include: { run: true } }));
  const rows = await db.$queryRaw<Array<Record<string, unknown>>>`
    SELECT ${joinedColumns} FROM "ApprovalRequest" a JOIN "Run" r ON r.id = a."runId" WHERE ${condition} ${order} LIMIT 1`;
  const row = rows[0];
  if (!row) return null;
  const approval: Record<string, unknown> = {};
  const run: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (column.startsWith('a.')) approval[column.slice(2)] = value;
    else run[column.slice(2)] = value;
  }
  return { ...(approval as unknown as ApprovalRequest), run: run as unknown as Run };
}

type OpenRequest = Pick<ApprovalRequest, 'id' | 'stepId' | 'stepTitle' | 'expiresAt' | 'onBehalfOf'>;
type RunSummary = Pick<Run, 'process' | 'title' | 'status' | 'input'>;

/**
 * A run and the decision requests on it still waiting on `approverEmail` at `now` (not used, revoked or expired),
 * oldest first; null when there is no such run. One statement, the run left-joined to its open requests (what an
 * integration reads before each decision; Prisma's run read and request list would be two model queries, each
 * compiled anew, in a transaction of their own).
 */
export async function runWithOpenRequests(
  db: ApiContext['db'],
  runId: string,
  approverEmail: string,
  now = new Date(),
): Promise<{ run: RunSummary; open: OpenRequest[] } | null> {
  const rows = await db.$queryRaw<Array<RunSummary & { [K in keyof OpenRequest]: OpenRequest[K] | null }>>`
    SELECT r.process, r.title, r.status, r.input, a.id, a."stepId", a."stepTitle", a."expiresAt", a."onBehalfOf"
    FROM "Run" r LEFT JOIN "ApprovalRequest" a ON a."runId" = r.id AND a.kind = 'decision' AND a."approverEmail" = ${approverEmail}
      AND a."usedAt" IS NULL AND a."revokedAt" IS NULL AND a."expiresAt" > ${sqlTimestamp(now)}
    WHERE r.id = ${runId}
    ORDER BY a."createdAt", a.id`;
  const [first] = rows;
  if (!first) return null;
  const { process, title, status, input } = first;
  const open = rows.flatMap(({ id, stepId, stepTitle, expiresAt, onBehalfOf }) => (id === null ? [] : [{ id, stepId: stepId!, stepTitle: stepTitle!, expiresAt: expiresAt!, onBehalfOf }]));
  return { run: { process, title, status, input }, open };
}

/**
 * Checks a link's token: exists, not used, not revoked, not expired, run still open. Never decides anything. The
 * request's log lines name the link's run from here on.
 */
export async function lookUpLink(ctx: ApiContext, token: string, now = new Date()): Promise<LinkLookup> {
  if (!looksLikeToken(token)) return { ok: false, kind: 'not_found' };
  const approval = await findApprovalWithRun(ctx.db, { tokenHash: hashToken(token) });
  if (!approval) return { ok: false, kind: 'not_found' };
  const { run, ...request } = approval;
  addLogFields(runLogFields(run, request));
  return refusalFor(request, run, now) ?? { ok: true, approval: request, run };
}

export function refusalFor(approval: ApprovalRequest, run: Run, now: Date): ({ ok: false } & LinkRefusal) | undefined {
  if (approval.usedAt) return { ok: false, kind: 'already_decided', approval };
  if (approval.revokedAt) {
    return { ok: false, kind: approval.revokedReason === 'the request expired' ? 'expired' : 'revoked', approval };
  }
  // not_started: the start's answer was lost, but the workflow mailed this link, so it did start.
  if (run.status !== 'running' && run.status !== 'not_started') return { ok: false, kind: 'closed', approval, run };
  if (approval.expiresAt <= now) return { ok: false, kind: 'expired', approval };
  return undefined;
}

export type DecideOutcome =
  | { kind: 'decided'; result: DecisionResult }
  /** Sent, but the run did not confirm in time (e.g. no worker is running); a repeat is safe (same update id). */
  | { kind: 'pending' }
  | { kind: 'reason_required' }
  | { kind: 'unavailable' }
  /** The facts changed after the approver's page was shown: nothing was decided; show what changed. */
  | { kind: 'stale'; approval: ApprovalRequest; seenVersion: string }
  /** Separation of duties refused it (audited); the message says why. */
  | { kind: 'separation_of_duties'; approval: ApprovalRequest; message: string }
  | LinkRefusal;

export interface LinkDecision {
  decision: Decision;
  comment: string | null;
  /** The version of the facts the approver was shown (the page's hidden field, or the API's `version`). */
  version: string;
  ip?: string;
  userAgent?: string;
  channel?: DecisionChannel;
}

/**
 * Sends the decision to the run as an Update whose id is the request id: Temporal applies the first one and
 * answers every repeat with that first result, so double submits and races end in exactly one decision. The
 * nonce tells us whether the result we got back is our own decision or an earlier one.
 */
export async function decideByLink(ctx: ApiContext, approval: ApprovalRequest, decision: LinkDecision): Promise<DecideOutcome> {
  const nonce = randomUUID();
  const input: DecisionInput = {
    requestId: approval.id,
    decision: decision.decision,
    comment: decision.comment,
    actorEmail: approval.approverEmail,
    channel: decision.channel ?? 'link',
    ip: decision.ip,
    userAgent: decision.userAgent?.slice(0, 500),
    nonce,
    version: decision.version,
  };
  try {
    const result = await ctx.temporal.withDeadline(Date.now() + (ctx.decisionWaitMs ?? 15_000), () =>
      ctx.temporal.workflow
        .getHandle(approval.runId)
        .executeUpdate<DecisionResult, [DecisionInput]>(DECIDE_UPDATE, { args: [input], updateId: approval.id }),
    );
    if (result.nonce === nonce) {
      ctx.metrics?.decisions.inc({ channel: input.channel, decision: result.decision });
      return { kind: 'decided', result };
    }
    return { kind: 'already_decided', approval: await reload(ctx, approval, result) };
  } catch (error) {
    return explainFailure(ctx, approval, error, { actor: input.actorEmail, action: 'decide', version: decision.version, channel: input.channel, ip: input.ip });
  }
}

/** The repeat won nothing; show the decision that did win (its audit write may still be in flight). */
async function reload(ctx: ApiContext, approval: ApprovalRequest, winner: DecisionResult): Promise<ApprovalRequest> {
  const fresh = await ctx.db.approvalRequest.findUnique({ where: { id: approval.id } });
  if (fresh?.usedAt) return fresh;
  return { ...approval, usedAt: new Date(winner.decidedAt), decision: winner.decision, decidedBy: winner.actorEmail, comment: winner.comment };
}

/** Who tried what, for the audit entry of a refusal on separation-of-duties grounds. */
export interface Attempt {
  actor: string;
  action: 'decide' | 'reassign' | 'claim' | 'complete';
  version?: string;
  channel?: string;
  ip?: string;
  details?: Record<string, unknown>;
}

/**
 * The workflow refused something on separation-of-duties grounds. Its validator writes nothing (the refusal never
 * reaches the run's history), so the API records the attempt: every such refusal is evidence. `subject` says what
 * was refused: an approval request (`approval.refused`) or a human task (`task.refused`).
 */
export async function auditDutyRefusal(
  ctx: ApiContext,
  approval: Pick<ApprovalRequest, 'id' | 'runId' | 'stepId'>,
  attempt: Attempt,
  reason: string,
  subject: 'approval' | 'task' = 'approval',
): Promise<void> {
  const { wake } = await ctx.db.$transaction((tx) =>
    insertAuditEntry(tx, {
      runId: approval.runId,
      action: `${subject}.refused`,
      actor: attempt.actor,
      step: approval.stepId,
      ip: attempt.ip ?? null,
      details: {
        [subject === 'task' ? 'taskId' : 'requestId']: approval.id,
        attempted: attempt.action,
        reason,
        rule: 'separation of duties',
        ...(attempt.channel ? { channel: attempt.channel } : {}),
        ...attempt.details,
      },
    }),
  );
  await wakeWebhooks(ctx, wake);
}

export async function explainFailure(ctx: ApiContext, approval: ApprovalRequest, error: unknown, attempt?: Attempt): Promise<DecideOutcome> {
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || (error as { code?: number }).code === 4 /* DEADLINE_EXCEEDED */) {
    return { kind: 'pending' };
  }
  const cause = error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure ? error.cause : undefined;
  const refusal = cause?.type;
  if (refusal === DecisionRefusal.reasonRequired) return { kind: 'reason_required' };
  if (refusal === DecisionRefusal.staleVersion) return { kind: 'stale', approval, seenVersion: attempt?.version ?? '' };
  if (refusal === DecisionRefusal.separationOfDuties) {
    if (attempt) await auditDutyRefusal(ctx, approval, attempt, cause!.message);
    return { kind: 'separation_of_duties', approval, message: cause!.message };
  }
  const fresh = await findApprovalWithRun(ctx.db, { id: approval.id });
  if (fresh) {
    const { run, ...request } = fresh;
    const why = refusalFor(request, run, new Date());
    if (why) return why;
    // The workflow refused it but our records have not caught up yet (e.g. the step just timed out).
    if (refusal) return { kind: 'revoked', approval: { ...request, revokedReason: cause?.message ?? 'the step is no longer open' } };
  }
  ctx.logger.warn({ err: error, approvalRequestId: approval.id }, 'decision not delivered');
  return { kind: 'unavailable' };
}

/** The result page: a status and HTML for a person who followed a link. */
export function sendResult(res: Response, props: ResultPageProps): void {
  const { status, html } = approvalResultPage(props);
  res.status(status).type('html').send(html);
}

/** What a link's page says when it cannot act: used, expired, revoked, the run closed, or the run did not answer. */
export function refusalPage(refusal: LinkRefusal | Extract<DecideOutcome, { kind: 'unavailable' | 'pending' | 'separation_of_duties' }>): ResultPageProps {
  if (refusal.kind === 'not_found' || refusal.kind === 'unavailable' || refusal.kind === 'pending') return { kind: refusal.kind };
  if (refusal.kind === 'separation_of_duties') return { kind: 'not_allowed', stepTitle: refusal.approval.stepTitle, reason: refusal.message };
  const { approval } = refusal;
  const base = { stepTitle: approval.stepTitle };
  switch (refusal.kind) {
    case 'already_decided':
      if (approval.kind === 'form') return { ...base, kind: 'form_already_sent', decidedAt: approval.usedAt ?? undefined };
      return {
        ...base,
        kind: 'already_decided',
        decision: (approval.decision ?? undefined) as ResultPageProps['decision'],
        decidedBy: approval.decidedBy ?? approval.approverName,
        decidedAt: approval.usedAt ?? undefined,
      };
    case 'expired':
      return { ...base, kind: 'expired' };
    case 'revoked':
      return { ...base, kind: 'revoked', reason: approval.revokedReason ?? undefined };
    case 'closed':
      return { ...base, kind: 'closed', runTitle: refusal.run.title, reason: `it is ${refusal.run.status}` };
  }
}

/**
 * Hands what a person submitted through a link (a revision, an outside form) to the run as an Update whose id is
 * the request id, so a repeat is one submission. Undefined when the run took it; else the page that says why not.
 */
export async function submitThroughLink(ctx: ApiContext, request: ApprovalRequest, update: string, arg: unknown): Promise<ResultPageProps | undefined> {
  try {
    await ctx.temporal.workflow.getHandle(request.runId).executeUpdate(update, { args: [arg], updateId: request.id });
    return undefined;
  } catch (error) {
    const outcome = await explainFailure(ctx, request, error);
    return outcome.kind === 'decided' || outcome.kind === 'reason_required' || outcome.kind === 'stale' ? { kind: 'unavailable' } : refusalPage(outcome);
  }
}

/** Why a request was not decided (My approvals, Slack), in the words its link's page would use. */
export function refusalText(refusal: Parameters<typeof refusalPage>[0]): string {
  switch (refusal.kind) {
    case 'already_decided':
      return `Already decided${refusal.approval.decidedBy ? ` by ${refusal.approval.decidedBy}` : ''}.`;
    case 'expired':
      return 'This request expired.';
    case 'revoked':
      return `This request was withdrawn${refusal.approval.revokedReason ? `: ${refusal.approval.revokedReason}` : ''}.`;
    case 'closed':
      return `The run is ${refusal.run.status}.`;
    case 'separation_of_duties':
      return `Not allowed: ${refusal.message}.`;
    case 'not_found':
      return 'This request does not exist.';
    case 'pending':
    case 'unavailable':
      return 'The run cannot take decisions right now; try again in a few minutes.';
  }
}
