import { approvalRequestId, approvalSeatsPrefix, type Decision, type DecisionChannel, type DecisionResult } from '../processes/approval-messages.js';
import { approverOf, dutiesOf, seatsFilledWithoutPassingOver, type SerializedDuties } from '../processes/controls.js';
import type { Fact } from '../processes/facts.js';
import { factsOf, findProcess } from '../processes/index.js';
import { replyAddress } from '../lib/reply-address.js';
import { columnsOf, Prisma, sqlTimestamp } from '../lib/db.js';
import { changesSinceStepApproval } from '../lib/run-facts.js';
import { updateRunRow } from '../lib/run-record.js';
import type { ApprovalRequest } from '../lib/generated/prisma/client.js';
import { hashToken, legacyLinkToken, mintLinkToken, newLinkNonce, tokenKeyRing } from '../lib/tokens.js';
import type { ActivityDeps } from './deps.js';
import { approvalRequestEmail } from './email-templates.js';
import { handOffRecordedMail, recordMailSending, sendEmailOnce, type OutgoingEmail, type RecordedMail } from './email.js';
import { approverCandidates, writeAudit, writeInOneTransaction, type Approver, type AuditWriter, type SeatCandidates } from './records.js';
import { closeSlackMessage, postRequestToSlack } from './slack.js';
import { decisionOutcome } from '../lib/slack-messages.js';

export interface OpenApprovalRequest {
  requestId: string;
  runId: string;
  stepId: string;
  stepTitle: string;
  seat: number;
  round: number;
  approver: Approver;
  expiresAt: number;
  /** Set when the request replaces one that timed out. */
  escalatedFrom?: Approver;
  /** Set when an edit changed material fields after this step was approved: it is asked again. */
  reapproval?: { changed: string[] };
  /** Set on a step's first request: the run's read model shows the step before anyone's mail can arrive. */
  currentStep?: string;
  /**
   * Decisions of the step before whose records may still be being written: written here (once, whoever is first)
   * before this request's own audit entry, so the audit keeps its order without the step waiting for them.
   */
  precededBy?: DecisionRecord[];
}

/** A step's seats to open at once (openApprovalStep): who to look up, under which duties, and the requests' terms. */
export interface OpenApprovalStep {
  runId: string;
  stepId: string;
  stepTitle: string;
  attempt: number;
  /** The step's role references, one per seat (each-role expanded by the lookup). */
  roles: string[];
  subjectEmail: string;
  duties: SerializedDuties;
  expiresAt: number;
  reapproval?: { changed: string[] };
  precededBy?: DecisionRecord[];
}

export type OpenedApprovalStep = { opened: true; approvers: Approver[] } | { opened: false; resolved: SeatCandidates[] };

export interface DecisionRecord {
  requestId: string;
  runId: string;
  stepId: string;
  decision: Decision;
  comment: string | null;
  actorEmail: string;
  channel: DecisionChannel;
  ip?: string;
  userAgent?: string;
  decidedAt: number;
  /** The version of the facts decided on, and the facts themselves as the approver saw them. */
  version: string;
  facts: Fact[];
}

type LinkRow = Pick<ApprovalRequest, 'id' | 'tokenHash' | 'tokenNonce' | 'tokenKeyId'>;

/** What a request answered through a link is recorded with; its token, its dates and its answer are filled in later. */
export interface LinkRequestRow {
  id: string;
  runId: string;
  /** decision (the default), revision, form, task or an incident's page. */
  kind?: string;
  stepId: string;
  stepTitle: string;
  seat?: number;
  round?: number;
  approverEmail: string;
  approverName: string;
  approverRole: string;
  onBehalfOf?: string | null;
  expiresAt: Date;
  comment?: string | null;
}

/**
 * The link for a request, minted again from its row (random nonce + the key that minted it), so every retry and
 * reminder carries the link first mailed. When that key has left TOKEN_SECRETS the operator retired it: the request
 * gets a fresh token from the current key and its old link stops working.
 */
export async function linkFor(deps: ActivityDeps, request: LinkRow, db: Prisma.TransactionClient = deps.db): Promise<string> {
  const ring = tokenKeyRing(deps.settings.tokenSecrets);
  const url = (token: string) => `${deps.settings.publicBaseUrl.replace(/\/$/, '')}/approvals/${token}`;
  const key = ring.find((k) => k.id === request.tokenKeyId);
  if (key && request.tokenNonce) return url(mintLinkToken(key, request.id, request.tokenNonce));
  if (!request.tokenNonce) {
    // A request made before nonces existed: its token was HMAC(key, id) with one of the ring's keys.
    const legacy = ring.map((k) => legacyLinkToken(k.secret, request.id)).find((token) => hashToken(token) === request.tokenHash);
    if (legacy) return url(legacy);
  }
  const current = ring[0]!;
  const nonce = newLinkNonce();
  const token = mintLinkToken(current, request.id, nonce);
  const { count } = await db.approvalRequest.updateMany({
    where: { id: request.id, tokenHash: request.tokenHash },
    data: { tokenHash: hashToken(token), tokenNonce: nonce, tokenKeyId: current.id },
  });
  // Another attempt re-issued it first (with the current key): send that one.
  if (count === 0) return linkFor(deps, await db.approvalRequest.findUniqueOrThrow({ where: { id: request.id } }), db);
  return url(token);
}

/**
 * Records a request someone answers through a link (approval, revision, outside form), storing only the token's
 * hash and its random nonce, and returns the link. Safe to retry: the same id keeps the first row and its link.
 * `db` may be the caller's transaction, so the row commits with the rest of what its activity writes.
 */
export async function recordLinkRequest(deps: ActivityDeps, row: LinkRequestRow, db: Prisma.TransactionClient = deps.db): Promise<string> {
  const key = tokenKeyRing(deps.settings.tokenSecrets)[0]!;
  const nonce = newLinkNonce();
  const tokenHash = hashToken(mintLinkToken(key, row.id, nonce));
  // One statement when the row is new, as createManyAndReturn with skipDuplicates writes it (INSERT … ON CONFLICT DO
  // NOTHING RETURNING) but raw: every step opens one per seat, and Prisma compiles each model query anew. The columns
  // a caller leaves out get the schema's defaults. A retry reads the row it kept.
  const [created] = await db.$queryRaw<LinkRow[]>`
    INSERT INTO "ApprovalRequest" (id, "runId", kind, "stepId", "stepTitle", seat, round, "approverEmail", "approverName", "approverRole",
      "onBehalfOf", "expiresAt", comment, "tokenHash", "tokenNonce", "tokenKeyId", "createdAt", "remindersSent")
    VALUES (${row.id}, ${row.runId}, ${row.kind ?? 'decision'}, ${row.stepId}, ${row.stepTitle}, ${row.seat ?? 0}::int, ${row.round ?? 1}::int,
      ${row.approverEmail}, ${row.approverName}, ${row.approverRole}, ${row.onBehalfOf ?? null}, ${sqlTimestamp(row.expiresAt)}, ${row.comment ?? null},
      ${tokenHash}, ${nonce}, ${key.id}, ${sqlTimestamp(new Date())}, 0)
    ON CONFLICT DO NOTHING
    RETURNING id, "tokenHash", "tokenNonce", "tokenKeyId"`;
  return linkFor(deps, created ?? (await db.approvalRequest.findUniqueOrThrow({ where: { id: row.id } })), db);
}

/** The run a mail is about; `currentStep` records the step in the same statement (a step's first request). */
async function loadRunForMail(db: Prisma.TransactionClient, runId: string, currentStep?: string) {
  const run = currentStep
    ? await updateRunRow(db, runId, { currentStep })
    : await db.run.findUniqueOrThrow({ where: { id: runId } });
  const process = findProcess(run.process);
  return {
    run,
    processTitle: process?.title ?? run.process,
    details: process ? process.describe(run.input) : [],
    /** The version of what this mail shows (the same input as the details), which a reply to it decides on. */
    version: process ? factsOf(process, run.input).version : undefined,
  };
}

/**
 * The reply-to-decide address of a request's mail (lib/reply-address.ts) when INBOUND_EMAIL_DOMAIN is set: the
 * link's own token (the last segment of the link this mail carries) and the version the mail shows.
 */
function replyToFor(deps: ActivityDeps, link: string, version: string | undefined): string | undefined {
  const domain = deps.settings.inboundEmailDomain;
  if (!domain || !version) return undefined;
  return replyAddress(domain, link.slice(link.lastIndexOf('/') + 1), version);
}

/**
 * A decision the workflow accepted: the link marked used, who decided, when and from where audited, in the caller's
 * transaction. Idempotent (the first write wins, the audit entry is keyed), so the decision's own activity and the
 * next step's request may both write it and it is there once. Returns what closing its Slack message needs.
 */
async function writeDecisionRecord(tx: Prisma.TransactionClient, audit: AuditWriter, decision: DecisionRecord): Promise<{ decidedBy: string }> {
  // The first write wins; the row comes back from the update (one statement), or is read when it was written before.
  // Raw, as updateManyAndReturn would write it: every decision makes one, and Prisma compiles each model query anew.
  // Facts missing from a record (as Prisma did with an undefined field) leave the column as it is.
  const facts = decision.facts === undefined ? null : JSON.stringify(decision.facts);
  const [updated] = await tx.$queryRaw<Array<Pick<ApprovalRequest, 'onBehalfOf' | 'approverEmail' | 'approverName'>>>`
    UPDATE "ApprovalRequest" SET "usedAt" = ${sqlTimestamp(new Date(decision.decidedAt))}, decision = ${decision.decision}, comment = ${decision.comment},
      "decidedBy" = ${decision.actorEmail}, "decidedVersion" = ${decision.version}, "factsSnapshot" = COALESCE(${facts}::jsonb, "factsSnapshot")
    WHERE id = ${decision.requestId} AND "usedAt" IS NULL
    RETURNING "onBehalfOf", "approverEmail", "approverName"`;
  const approval = updated ?? (await tx.approvalRequest.findUniqueOrThrow({ where: { id: decision.requestId } }));
  await audit({
    eventKey: `${decision.requestId}:decided`,
    runId: decision.runId,
    action: 'approval.decided',
    actor: decision.actorEmail,
    onBehalfOf: approval.onBehalfOf ?? undefined,
    step: decision.stepId,
    ip: decision.ip,
    userAgent: decision.userAgent,
    at: decision.decidedAt,
    details: {
      requestId: decision.requestId,
      decision: decision.decision,
      comment: decision.comment,
      channel: decision.channel,
      version: decision.version,
      facts: decision.facts,
    },
  });
  return { decidedBy: approval.approverEmail.toLowerCase() === decision.actorEmail.toLowerCase() ? approval.approverName : decision.actorEmail };
}

/** After the record committed: the decision's Slack message (if any) says how it ended. */
async function closeDecidedSlackMessage(deps: ActivityDeps, decision: DecisionRecord, decidedBy: string): Promise<void> {
  await closeSlackMessage(deps, decision.requestId, decisionOutcome({ ...decision, decidedBy, decidedAt: new Date(decision.decidedAt) }));
}

/** A decision record written by the activity that follows from it, with what closing its Slack message needs. */
export interface CarriedRecord {
  decision: DecisionRecord;
  decidedBy: string;
}

/** The decision records an activity carries, written in its transaction before its own work (which follows from them). */
export async function writeCarriedRecords(tx: Prisma.TransactionClient, audit: AuditWriter, records: DecisionRecord[] | undefined): Promise<CarriedRecord[]> {
  const carried: CarriedRecord[] = [];
  for (const decision of records ?? []) carried.push({ decision, ...(await writeDecisionRecord(tx, audit, decision)) });
  return carried;
}

/** Once the carried records committed: their decisions' Slack messages say how they ended. */
export async function closeCarriedSlackMessages(deps: ActivityDeps, carried: CarriedRecord[]): Promise<void> {
  for (const { decision, decidedBy } of carried) await closeDecidedSlackMessage(deps, decision, decidedBy);
}

interface RecordedApprovalRequest {
  mail: OutgoingEmail;
  recorded: RecordedMail;
  carried: CarriedRecord[];
}

/**
 * Everything a request is before its mail is handed off, in the caller's transaction: the link's row, the step on
 * the run (a step's first request), the decisions carried from the step before, the request's audit entry and the
 * mail's `sending` record, so whoever the mail reaches finds all of it.
 */
async function recordApprovalRequest(
  deps: ActivityDeps,
  tx: Prisma.TransactionClient,
  audit: AuditWriter,
  request: OpenApprovalRequest,
  attemptStarted: Date,
): Promise<RecordedApprovalRequest> {
  const { requestId } = request;
  const kind = request.escalatedFrom ? 'escalation' : 'request';
  const link = await recordLinkRequest(
    deps,
    {
      id: requestId,
      runId: request.runId,
      stepId: request.stepId,
      stepTitle: request.stepTitle,
      seat: request.seat,
      round: request.round,
      approverEmail: request.approver.email,
      approverName: request.approver.name,
      approverRole: request.approver.role,
      onBehalfOf: request.approver.onBehalfOf?.email ?? null,
      expiresAt: new Date(request.expiresAt),
    },
    tx,
  );
  const { run, processTitle, details, version } = await loadRunForMail(tx, request.runId, request.currentStep);
  const replyTo = replyToFor(deps, link, version);
  const changedSinceApproval = request.reapproval ? await changesSinceStepApproval(tx, request.runId, request.stepId, details) : [];
  // The step before's decisions are audited before this request, which follows from them.
  const carried = await writeCarriedRecords(tx, audit, request.precededBy);
  await audit({
    eventKey: `${requestId}:requested`,
    runId: request.runId,
    action: request.escalatedFrom ? 'approval.escalated' : 'approval.requested',
    actor: 'opsflow',
    step: request.stepId,
    onBehalfOf: request.approver.onBehalfOf?.email,
    details: {
      requestId,
      approver: request.approver.email,
      approverRole: request.approver.role,
      expiresAt: new Date(request.expiresAt).toISOString(),
      ...(request.escalatedFrom ? { escalatedFrom: request.escalatedFrom.email } : {}),
      ...(request.reapproval ? { askedAgainBecause: { materialChanges: request.reapproval.changed } } : {}),
    },
  });
  const mail: OutgoingEmail = {
    idempotencyKey: `${requestId}:request`,
    runId: request.runId,
    kind: `approval.${kind}`,
    to: request.approver.email,
    replyTo,
    email: approvalRequestEmail({
      kind,
      approverName: request.approver.name,
      processTitle,
      runTitle: run.title,
      stepTitle: request.stepTitle,
      requesterName: run.requesterName,
      details,
      link,
      expiresAt: new Date(request.expiresAt),
      escalatedFrom: request.escalatedFrom?.name,
      onBehalfOf: request.approver.onBehalfOf?.name,
      changedSinceApproval,
      replyToDecide: replyTo !== undefined,
    }),
  };
  return { mail, recorded: await recordMailSending(tx, mail, attemptStarted), carried };
}

/** After the commit: the mail handed to SMTP (with its `sent` mark and emailSentAt), then Slack. */
async function deliverApprovalRequest(deps: ActivityDeps, request: OpenApprovalRequest, { mail, recorded, carried }: RecordedApprovalRequest): Promise<void> {
  await handOffRecordedMail(deps, mail, recorded, (sentAt) => Prisma.sql`UPDATE "ApprovalRequest" SET "emailSentAt" = ${sentAt} WHERE id = ${request.requestId}`);
  await closeCarriedSlackMessages(deps, carried);
  await postRequestToSlack(deps, request.requestId, { escalatedFrom: request.escalatedFrom?.name, onBehalfOf: request.approver.onBehalfOf?.name });
}

const requestColumns = columnsOf('a', Prisma.ApprovalRequestScalarFieldEnum);

/**
 * The first-round requests of one attempt at a step (their ids start with `seatsPrefix`), by seat: what an earlier
 * try of the step's opening recorded. One raw statement, as `approvalRequest.findMany({ where: { runId, id:
 * { startsWith }, round: 1 }, orderBy: { seat: 'asc' } })` gives it (held equal by test/api/raw-statements.test.ts),
 * since every step's opening asks.
 */
export async function seatRequestsRecorded(db: Prisma.TransactionClient, runId: string, seatsPrefix: string): Promise<ApprovalRequest[]> {
  return db.$queryRaw<ApprovalRequest[]>`
    SELECT ${requestColumns} FROM "ApprovalRequest" a
    WHERE a."runId" = ${runId} AND left(a.id, ${seatsPrefix.length}) = ${seatsPrefix} AND a.round = 1
    ORDER BY a.seat ASC`;
}

/** The approvers a step's requests were recorded for by an earlier attempt, as the workflow holds them. */
async function approversRecordedBefore(tx: Prisma.TransactionClient, rows: ApprovalRequest[]): Promise<Approver[]> {
  const principals = rows.flatMap((row) => (row.onBehalfOf ? [row.onBehalfOf] : []));
  const people = principals.length ? await tx.person.findMany({ where: { email: { in: principals } } }) : [];
  return rows.map((row) => ({
    email: row.approverEmail,
    name: row.approverName,
    role: row.approverRole,
    ...(row.onBehalfOf ? { onBehalfOf: { email: row.onBehalfOf, name: people.find((p) => p.email === row.onBehalfOf)?.name ?? row.onBehalfOf } } : {}),
  }));
}

export function createApprovalActivities(deps: ActivityDeps) {
  const { db, settings } = deps;

  return {
    /**
     * Records the request, then mails the approver a link. Safe to retry: same id, same token, one mail. Two commits:
     * everything before the hand-off in one transaction (the link's row, the step on the run, the decisions carried
     * from the step before, this request's audit entry and the mail's `sending` record), so whoever the mail reaches
     * finds all of it; then the `sent` mark with the request's emailSentAt.
     */
    async openApprovalRequest(request: OpenApprovalRequest): Promise<{ requestId: string }> {
      const attemptStarted = new Date();
      const recorded = await writeInOneTransaction(deps, (tx, audit) => recordApprovalRequest(deps, tx, audit, request, attemptStarted));
      await deliverApprovalRequest(deps, request, recorded);
      return { requestId: request.requestId };
    },

    /**
     * A step's seats opened at once (the workflow's STEP_OPENED_IN_ONE_ACTIVITY): the approver lookup, each seat's
     * first eligible candidate under the run's duties (the workflow's own rule, processes/controls.ts), and every
     * request recorded as openApprovalRequest records it, in one transaction; then the mails. When anyone would be
     * passed over or a seat has nobody, it opens nothing and returns the candidates: the workflow fills the seats
     * itself then, auditing whom it passed over. A retry after the commit keeps the approvers first recorded.
     */
    async openApprovalStep(request: OpenApprovalStep): Promise<OpenedApprovalStep> {
      const attemptStarted = new Date();
      const duties = dutiesOf(request.duties);
      const outcome = await writeInOneTransaction(deps, async (tx, audit) => {
        const recordedBefore = await seatRequestsRecorded(tx, request.runId, approvalSeatsPrefix(request.runId, request.stepId, request.attempt));
        let approvers = await approversRecordedBefore(tx, recordedBefore);
        if (approvers.length === 0) {
          const resolved = await approverCandidates(tx, { roles: request.roles, subjectEmail: request.subjectEmail });
          const chosen = seatsFilledWithoutPassingOver(resolved, request.stepId, duties);
          if (!chosen) return { opened: false as const, resolved };
          approvers = chosen.map((candidate) => approverOf(candidate));
        }
        const seats: Array<{ request: OpenApprovalRequest; recorded: RecordedApprovalRequest }> = [];
        for (const [seat, approver] of approvers.entries()) {
          const seatRequest: OpenApprovalRequest = {
            requestId: approvalRequestId(request.runId, request.stepId, { attempt: request.attempt, seat, round: 1 }),
            runId: request.runId,
            stepId: request.stepId,
            stepTitle: request.stepTitle,
            seat,
            round: 1,
            approver,
            expiresAt: request.expiresAt,
            reapproval: request.reapproval,
            // The first request records the step, and the decisions before it, before its own audit entry.
            ...(seat === 0 ? { currentStep: request.stepId, precededBy: request.precededBy } : {}),
          };
          seats.push({ request: seatRequest, recorded: await recordApprovalRequest(deps, tx, audit, seatRequest, attemptStarted) });
        }
        return { opened: true as const, approvers, seats };
      });
      if (!outcome.opened) return outcome;
      for (const seat of outcome.seats) await deliverApprovalRequest(deps, seat.request, seat.recorded);
      return { opened: true, approvers: outcome.approvers };
    },

    /** `reminderNumber` counts from 1 and keys the mail, so a retry never sends the same reminder twice. */
    async remindApprover(request: { requestId: string; reminderNumber: number }): Promise<void> {
      const approval = await db.approvalRequest.findUniqueOrThrow({ where: { id: request.requestId } });
      if (approval.usedAt || approval.revokedAt) return;
      const { run, processTitle, details, version } = await loadRunForMail(db, approval.runId);
      const link = await linkFor(deps, approval);
      const replyTo = replyToFor(deps, link, version);
      await sendEmailOnce(deps, {
        idempotencyKey: `${approval.id}:reminder:${request.reminderNumber}`,
        runId: approval.runId,
        kind: 'approval.reminder',
        to: approval.approverEmail,
        replyTo,
        email: approvalRequestEmail({
          kind: 'reminder',
          approverName: approval.approverName,
          processTitle,
          runTitle: run.title,
          stepTitle: approval.stepTitle,
          requesterName: run.requesterName,
          details,
          link,
          expiresAt: approval.expiresAt,
          replyToDecide: replyTo !== undefined,
        }),
      });
      await db.approvalRequest.update({
        where: { id: approval.id },
        data: { remindersSent: request.reminderNumber, lastRemindedAt: new Date() },
      });
      await writeAudit(deps, {
        eventKey: `${approval.id}:reminder:${request.reminderNumber}`,
        runId: approval.runId,
        action: 'approval.reminded',
        actor: 'opsflow',
        step: approval.stepId,
        details: { requestId: approval.id, approver: approval.approverEmail, reminderNumber: request.reminderNumber },
      });
    },

    /** Links that are no longer needed stop working; their page shows the reason. */
    async revokeApprovalRequests(request: {
      requestIds: string[];
      reason: string;
      action: string;
      actor?: string;
      details?: Record<string, unknown>;
    }): Promise<void> {
      const open = await db.approvalRequest.findMany({
        where: { id: { in: request.requestIds }, usedAt: null, revokedAt: null },
      });
      await db.approvalRequest.updateMany({
        where: { id: { in: open.map((o) => o.id) }, usedAt: null, revokedAt: null },
        data: { revokedAt: new Date(), revokedReason: request.reason },
      });
      for (const approval of open) {
        await writeAudit(deps, {
          eventKey: `${approval.id}:${request.action}`,
          runId: approval.runId,
          action: request.action,
          actor: request.actor ?? 'opsflow',
          step: approval.stepId,
          details: { requestId: approval.id, approver: approval.approverEmail, reason: request.reason, ...request.details },
        });
        await closeSlackMessage(deps, approval.id, `:no_entry_sign: Closed without a decision: ${request.reason}.`);
      }
    },

    /** The decision was accepted by the workflow: mark the link used and write who decided, when and from where (one commit). */
    async recordDecision(decision: DecisionRecord): Promise<void> {
      const { decidedBy } = await writeInOneTransaction(deps, (tx, audit) => writeDecisionRecord(tx, audit, decision));
      await closeDecidedSlackMessage(deps, decision, decidedBy);
    },

    /** Nobody decided in time and the policy's deadline action did: audited as decided by policy, with its version. */
    async recordPolicyDecision(request: { runId: string; stepId: string; stepTitle: string; decision: DecisionResult; facts: Fact[] }): Promise<void> {
      const { decision } = request;
      await writeAudit(deps, {
        eventKey: `${decision.requestId}:decided`,
        runId: request.runId,
        action: 'approval.decided',
        actor: 'policy',
        step: request.stepId,
        at: decision.decidedAt,
        details: {
          requestId: decision.requestId,
          decision: decision.decision,
          comment: decision.comment,
          channel: 'policy',
          byPolicy: { trigger: 'deadline', policyVersion: decision.byPolicy?.policyVersion },
          version: decision.version,
          facts: request.facts,
        },
      });
      await closeSlackMessage(deps, decision.requestId, decisionOutcome({ ...decision, decidedBy: 'policy', channel: 'policy', decidedAt: new Date(decision.decidedAt) }));
    },
  };
}
