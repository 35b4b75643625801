import { extendRunInput } from '../lib/run-record.js';
import { recordLinkRequest } from './approvals.js';
import type { ActivityDeps } from './deps.js';
import { noticeEmail } from './email-templates.js';
import { sendEmailOnce } from './email.js';
import { writeAudit } from './records.js';

export interface OpenFormRequest {
  requestId: string;
  runId: string;
  formKey: string;
  title: string;
  recipient: { name: string; email: string };
  expiresAt: number;
  /** The mail's opening lines. */
  message: string[];
}

/** Forms for people outside the company: a single-use link, like an approval link, stored as its hash. */
export function createFormActivities(deps: ActivityDeps) {
  const { db } = deps;
  return {
    async openFormRequest(request: OpenFormRequest): Promise<void> {
      const link = await recordLinkRequest(deps, {
        id: request.requestId,
        runId: request.runId,
        kind: 'form',
        stepId: request.formKey,
        stepTitle: request.title,
        approverEmail: request.recipient.email.toLowerCase(),
        approverName: request.recipient.name,
        approverRole: 'external',
        expiresAt: new Date(request.expiresAt),
      });
      await sendEmailOnce(deps, {
        idempotencyKey: `${request.requestId}:request`,
        runId: request.runId,
        kind: `form.${request.formKey}`,
        to: request.recipient.email,
        email: noticeEmail({
          subject: request.title,
          greeting: `Hello ${request.recipient.name}`,
          paragraphs: [...request.message, `The link works once and until ${new Date(request.expiresAt).toUTCString()}.`],
          link: { url: link, label: 'Fill in the form' },
        }),
      });
      await db.approvalRequest.update({ where: { id: request.requestId }, data: { emailSentAt: new Date() } });
      await writeAudit(deps, {
        eventKey: `${request.requestId}:requested`,
        runId: request.runId,
        action: 'form.requested',
        actor: 'opsflow',
        step: request.formKey,
        details: { requestId: request.requestId, recipient: request.recipient.email, expiresAt: new Date(request.expiresAt).toISOString() },
      });
    },

    /** Marks the link used and puts the values into the run's input under the form's key, for reviewers to see. */
    async recordFormSubmission(submission: { requestId: string; runId: string; formKey: string; values: Record<string, unknown>; actorEmail: string; ip?: string; userAgent?: string }): Promise<void> {
      await db.$transaction(async (tx) => {
        await tx.approvalRequest.updateMany({ where: { id: submission.requestId, usedAt: null }, data: { usedAt: new Date(), decidedBy: submission.actorEmail } });
        // Reviewers see the values from now on: a new version of the run's facts.
        await extendRunInput(tx, submission.runId, submission.formKey, submission.values);
      });
      await writeAudit(deps, {
        eventKey: `${submission.requestId}:submitted`,
        runId: submission.runId,
        action: 'form.submitted',
        actor: submission.actorEmail,
        step: submission.formKey,
        ip: submission.ip,
        userAgent: submission.userAgent,
        details: { requestId: submission.requestId, fields: Object.keys(submission.values) },
      });
    },

    async revokeFormRequest(request: { requestId: string; reason: string }): Promise<void> {
      await db.approvalRequest.updateMany({ where: { id: request.requestId, usedAt: null, revokedAt: null }, data: { revokedAt: new Date(), revokedReason: request.reason } });
    },
  };
}
