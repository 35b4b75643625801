import { findProcess } from '../processes/index.js';
import type { ActivityDeps } from './deps.js';
import { requesterOutcomeEmail, type RequesterOutcome } from './email-templates.js';
import { handOffRecordedMail, recordMailSending, type OutgoingEmail } from './email.js';

export interface RequesterNotice {
  runId: string;
  outcome: RequesterOutcome;
  decidedBy?: string;
  reason?: string;
  facts?: Array<{ label: string; value: string }>;
}

export function createNotificationActivities(deps: ActivityDeps) {
  return {
    /**
     * Tells the requester how their run ended; one mail per run and outcome. The run is read in the transaction that
     * records the mail `sending` (one commit before the hand-off, one for the `sent` mark).
     */
    async notifyRequester(notice: RequesterNotice): Promise<void> {
      const attemptStarted = new Date();
      const { mail, recorded } = await deps.db.$transaction(async (tx) => {
        const run = await tx.run.findUniqueOrThrow({ where: { id: notice.runId } });
        const mail: OutgoingEmail = {
          idempotencyKey: `${notice.runId}:outcome:${notice.outcome}`,
          runId: notice.runId,
          kind: `run.${notice.outcome}`,
          to: run.requesterEmail,
          email: requesterOutcomeEmail({
            outcome: notice.outcome,
            requesterName: run.requesterName,
            processTitle: findProcess(run.process)?.title ?? run.process,
            runTitle: run.title,
            runUrl: `${deps.settings.publicBaseUrl.replace(/\/$/, '')}/runs/${encodeURIComponent(run.id)}`,
            decidedBy: notice.decidedBy,
            reason: notice.reason,
            facts: notice.facts,
          }),
        };
        return { mail, recorded: await recordMailSending(tx, mail, attemptStarted) };
      });
      await handOffRecordedMail(deps, mail, recorded);
    },
  };
}
