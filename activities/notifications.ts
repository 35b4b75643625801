import { findProcess } from '../processes/index.js';
import type { ActivityDeps } from './deps.js';
import { requesterOutcomeEmail, type RequesterOutcome } from './email-templates.js';
import { sendEmailOnce } from './email.js';

export interface RequesterNotice {
  runId: string;
  outcome: RequesterOutcome;
  decidedBy?: string;
  reason?: string;
  facts?: Array<{ label: string; value: string }>;
}

export function createNotificationActivities(deps: ActivityDeps) {
  return {
    /** Tells the requester how their run ended; one mail per run and outcome. */
    async notifyRequester(notice: RequesterNotice): Promise<void> {
      const run = await deps.db.run.findUniqueOrThrow({ where: { id: notice.runId } });
      await sendEmailOnce(deps, {
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
      });
    },
  };
}
