import { Prisma } from '../lib/db.js';
import { insertAuditEntry } from '../lib/outbound-webhooks.js';
import { recordFactsVersion } from '../lib/run-record.js';
import { canonicalJson } from '../processes/facts.js';
import { findProcess } from '../processes/index.js';
import { recordLinkRequest } from './approvals.js';
import type { ActivityDeps } from './deps.js';
import { revisionRequestEmail } from './email-templates.js';
import { sendEmailOnce } from './email.js';
import type { Approver } from './records.js';
import { auditRow, writeAudit } from './records.js';

export interface OpenRevisionRequest {
  requestId: string;
  runId: string;
  stepId: string;
  stepTitle: string;
  expiresAt: number;
  askedBy: Approver;
  comment: string;
}

export interface RevisionRecord {
  requestId: string;
  runId: string;
  input: Record<string, unknown>;
  actorEmail: string;
  comment: string | null;
  ip?: string;
  userAgent?: string;
}

/** Each top-level field the edit changed, with its old and new value: the audit keeps both. */
function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): Array<{ field: string; before: unknown; after: unknown }> {
  return Object.keys({ ...before, ...after })
    .filter((key) => canonicalJson(before[key] ?? null) !== canonicalJson(after[key] ?? null))
    .map((field) => ({ field, before: before[field] ?? null, after: after[field] ?? null }));
}

/** "Changes requested": the requester gets a single-use link to edit the run's input and resubmit. */
export function createRevisionActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    async openRevisionRequest(request: OpenRevisionRequest): Promise<void> {
      const run = await db.run.findUniqueOrThrow({ where: { id: request.runId } });
      const link = await recordLinkRequest(deps, {
        id: request.requestId,
        runId: request.runId,
        kind: 'revision',
        stepId: request.stepId,
        stepTitle: request.stepTitle,
        approverEmail: run.requesterEmail,
        approverName: run.requesterName,
        approverRole: 'requester',
        expiresAt: new Date(request.expiresAt),
        comment: request.comment,
      });
      await sendEmailOnce(deps, {
        idempotencyKey: `${request.requestId}:request`,
        runId: request.runId,
        kind: 'revision.requested',
        to: run.requesterEmail,
        email: revisionRequestEmail({
          requesterName: run.requesterName,
          processTitle: findProcess(run.process)?.title ?? run.process,
          runTitle: run.title,
          stepTitle: request.stepTitle,
          askedBy: request.askedBy.name,
          comment: request.comment,
          link,
          expiresAt: new Date(request.expiresAt),
        }),
      });
      await db.approvalRequest.update({ where: { id: request.requestId }, data: { emailSentAt: new Date() } });
      await writeAudit(deps, {
        eventKey: `${request.requestId}:requested`,
        runId: request.runId,
        action: 'revision.requested',
        actor: request.askedBy.email,
        step: request.stepId,
        details: { requestId: request.requestId, comment: request.comment },
      });
    },

    /**
     * The requester's edit: the run's input (and its title) change and the new version of what approvers see is
     * recorded; the audit keeps every changed field with its old and new value. All in one transaction: the old
     * values exist only until the input is overwritten, so a retry after a commit must find the entry written.
     */
    async recordRevision(revision: RevisionRecord): Promise<void> {
      const wake = await db.$transaction(async (tx) => {
        const run = await tx.run.findUniqueOrThrow({ where: { id: revision.runId } });
        const process = findProcess(run.process);
        const summary = process?.summarize(revision.input);
        const changes = changedFields(run.input as Record<string, unknown>, revision.input);
        await tx.run.update({
          where: { id: revision.runId },
          data: {
            input: revision.input as Prisma.InputJsonValue,
            ...(summary ? { title: summary.title, amount: summary.amount ?? null, currency: summary.currency ?? null } : {}),
          },
        });
        await tx.approvalRequest.updateMany({
          where: { id: revision.requestId, usedAt: null },
          data: { usedAt: new Date(), decision: 'revised', decidedBy: revision.actorEmail },
        });
        const version = process ? await recordFactsVersion(tx, process, revision.runId, revision.input) : undefined;
        const written = await insertAuditEntry(
          tx,
          auditRow({
            eventKey: `${revision.requestId}:submitted`,
            runId: revision.runId,
            action: 'revision.submitted',
            actor: revision.actorEmail,
            ip: revision.ip,
            userAgent: revision.userAgent,
            details: { requestId: revision.requestId, changes, changed: changes.map((c) => c.field), comment: revision.comment, version },
          }),
        );
        return written.wake;
      });
      await deps.wakeWebhookDeliveries(wake);
    },
  };
}
