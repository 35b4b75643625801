import type { Run } from '../lib/generated/prisma/client.js';
import { updateRunRow } from '../lib/run-record.js';
import { findProcess } from '../processes/index.js';
import { closeCarriedSlackMessages, writeCarriedRecords, type DecisionRecord } from './approvals.js';
import type { ActivityDeps } from './deps.js';
import { requesterOutcomeEmail, type RequesterOutcome } from './email-templates.js';
import { handOffRecordedMail, recordMailSending, type OutgoingEmail } from './email.js';
import { runUpdateData, writeInOneTransaction, type AuditInput, type RunStatus, type RunUpdate } from './records.js';

export interface RequesterNotice {
  runId: string;
  outcome: RequesterOutcome;
  decidedBy?: string;
  reason?: string;
  facts?: Array<{ label: string; value: string }>;
}

/** A run's close as one write (RunTracker.closeAndTell): what came just before it, the close, the requester's notice. */
export interface RunClosing extends RunUpdate {
  status: Exclude<RunStatus, 'running'>;
  /** The close's own entry (`run.<status>`). */
  audit: AuditInput;
  /** Decision records the workflow had not had written yet: the close follows from them, so they come first. */
  precededBy?: DecisionRecord[];
  /** Entries of what was done just before the close (e.g. the purchase order), in order, before the close's own. */
  audits?: AuditInput[];
  notice: Omit<RequesterNotice, 'runId'>;
}

/** The requester's mail about how their run ended; one per run and outcome (its idempotency key). */
function requesterNoticeMail(deps: ActivityDeps, run: Run, notice: RequesterNotice): OutgoingEmail {
  return {
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
        const mail = requesterNoticeMail(deps, await tx.run.findUniqueOrThrow({ where: { id: notice.runId } }), notice);
        return { mail, recorded: await recordMailSending(tx, mail, attemptStarted) };
      });
      await handOffRecordedMail(deps, mail, recorded);
    },

    /**
     * Closes a run and tells its requester, in two commits: the carried decision records, the entries of what came
     * just before, the close with its `run.<status>` entry and the notice's mail as `sending`, all in one transaction
     * (nobody sees the run closed without them, and the mail cannot arrive before them); then the hand-off and its
     * `sent` mark. Safe to retry: every write is keyed or idempotent, and a mail marked sent is not sent again.
     */
    async closeRun(closing: RunClosing): Promise<void> {
      const attemptStarted = new Date();
      const { mail, recorded, carried, closedNow, process } = await writeInOneTransaction(deps, async (tx, audit) => {
        const carried = await writeCarriedRecords(tx, audit, closing.precededBy);
        for (const entry of closing.audits ?? []) await audit(entry);
        const run = await updateRunRow(tx, closing.runId, runUpdateData(closing));
        const closedNow = await audit(closing.audit);
        const mail = requesterNoticeMail(deps, run, { runId: closing.runId, ...closing.notice });
        return { mail, recorded: await recordMailSending(tx, mail, attemptStarted), carried, closedNow, process: run.process };
      });
      // Counted once it committed, and once per run (a retry finds its entry written).
      if (closedNow) deps.metrics?.runsClosed.inc({ process, outcome: closing.status });
      await handOffRecordedMail(deps, mail, recorded);
      await closeCarriedSlackMessages(deps, carried);
    },
  };
}
