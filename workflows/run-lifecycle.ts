import {
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  defineSignal,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DecisionRecord } from '../activities/approvals.js';
import type { Activities } from '../activities/index.js';
import type { RequesterNotice } from '../activities/notifications.js';
import type { AuditInput, RunStatus } from '../activities/records.js';
import { CANCEL_REASON_SIGNAL, type CancelReason } from '../processes/approval-messages.js';
import { searchAttributes } from '../processes/search-attributes.js';
import type { RunArgs, RunSummary } from '../processes/types.js';
import { hasPatch, RUN_CLOSED_WITH_NOTICE, SHORT_WORK_AS_LOCAL_ACTIVITIES } from './patches.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Short database reads and writes, retried like the ordinary ones; each attempt is bounded well inside a task. */
const localActs = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** Where a short database read or write runs: locally for new runs, as an ordinary activity for runs in flight. */
export function shortWork(): Pick<Activities, 'updateRun' | 'approverCandidates'> {
  return hasPatch(SHORT_WORK_AS_LOCAL_ACTIVITIES) ? localActs : acts;
}

export type ClosedStatus = Exclude<RunStatus, 'running'>;

/** Decision records an activity writes before its own work (ApprovalDesk.carryRecords); `written()` once it has. */
export interface CarriedRecords {
  records?: DecisionRecord[];
  written(): void;
}

/** How a run that tells its requester ends (RunTracker.closeAndTell). */
export interface RunEnding {
  /** Why it ended other than as planned: the run's failure reason. */
  reason?: string;
  /** What the requester is told. */
  notice: Omit<RequesterNotice, 'runId'>;
  /** Decision records not written yet: written first, since the close follows from them. */
  carried?: CarriedRecords;
  /** Audit entries of what was done just before the close (e.g. the purchase order), written before it. */
  audits?: AuditInput[];
}

/** Sent by the API just before it cancels the run: who cancels it and why. */
export const cancelReasonSignal = defineSignal<[CancelReason]>(CANCEL_REASON_SIGNAL);

/**
 * Keeps the run's read model and search attributes in step with the workflow: current step and approver while
 * it waits, status and outcome when it ends.
 */
export class RunTracker {
  readonly runId = workflowInfo().workflowId;

  /** The step the run is in; kept on close so a failure says where it happened. */
  private step?: string;

  /** Who asked for the cancellation and why, once they did. */
  cancelledBy?: CancelReason;

  constructor() {
    setHandler(cancelReasonSignal, (reason) => {
      this.cancelledBy ??= reason;
    });
  }

  /** Runs started over the API or by an event are recorded before they start; a scheduled run records itself. */
  async recordIfScheduled(processKey: string, args: RunArgs<unknown, unknown>): Promise<void> {
    if (args.trigger?.kind !== 'schedule') return;
    await acts.recordScheduledRun({ runId: this.runId, processKey, input: args.input, settings: args.settings, scheduleId: args.trigger.scheduleId });
  }

  async enterStep(step: string, approverEmail?: string): Promise<void> {
    this.markStep(step, approverEmail);
    await shortWork().updateRun({ runId: this.runId, currentStep: step });
  }

  /** The step in the workflow and its search attributes only: the caller's own activity records it in the read model. */
  markStep(step: string, approverEmail?: string): void {
    this.step = step;
    log.info('step opened', { step });
    upsertSearchAttributes([
      { key: searchAttributes.currentStep, value: step },
      { key: searchAttributes.currentApprover, value: approverEmail ?? null },
    ]);
  }

  /** A failure that names its step (one that could not be entered) is recorded against that step. */
  failedIn(step: string): void {
    this.step = step;
  }

  /** After an edit the run's searchable facts follow the new input. */
  recordFacts(summary: RunSummary): void {
    upsertSearchAttributes([
      { key: searchAttributes.amount, value: summary.amount ?? null },
      { key: searchAttributes.currency, value: summary.currency ?? null },
      { key: searchAttributes.costCenter, value: summary.costCenter ?? null },
    ]);
  }

  async close(status: ClosedStatus, outcome: string, failureReason?: string, actor = 'opsflow'): Promise<void> {
    await shortWork().updateRun(this.closing(status, outcome, failureReason, actor));
  }

  /**
   * Closes the run and tells the requester how it ended. Under RUN_CLOSED_WITH_NOTICE one activity writes the carried
   * decision records, the entries in `audits`, the close and its audit entry and records the notice's mail in one
   * commit, then mails it; before, the close and the notice were two (the caller wrote the records and entries first).
   */
  async closeAndTell(status: ClosedStatus, outcome: string, ending: RunEnding): Promise<void> {
    if (!hasPatch(RUN_CLOSED_WITH_NOTICE)) {
      await this.close(status, outcome, ending.reason);
      await acts.notifyRequester({ runId: this.runId, ...ending.notice });
      return;
    }
    await acts.closeRun({ ...this.closing(status, outcome, ending.reason), precededBy: ending.carried?.records, audits: ending.audits, notice: ending.notice });
    ending.carried?.written();
  }

  /** The run's closing write (its read model and its `run.<status>` entry); logged and searchable from here. */
  private closing(status: ClosedStatus, outcome: string, failureReason: string | undefined, actor = 'opsflow') {
    log.info('run closed', { status, outcome, ...(this.step ? { step: this.step } : {}) });
    upsertSearchAttributes([
      { key: searchAttributes.status, value: status },
      { key: searchAttributes.currentStep, value: null },
      { key: searchAttributes.currentApprover, value: null },
    ]);
    return {
      runId: this.runId,
      status,
      currentStep: null,
      outcome,
      failureReason,
      closedAt: Date.now(),
      audit: {
        eventKey: `${this.runId}:run.${status}`,
        runId: this.runId,
        action: `run.${status}`,
        actor,
        step: this.step,
        details: { outcome, ...(failureReason ? { reason: failureReason } : {}) },
      },
    };
  }
}

/** The step a failure names itself (a step that could not be filled fails before the run enters it). */
function failedStepOf(error: unknown): string | undefined {
  const details = error instanceof ApplicationFailure ? error.details : undefined;
  const step = (details?.[0] as { step?: unknown } | undefined)?.step;
  return typeof step === 'string' ? step : undefined;
}

function failureMessage(error: unknown): string {
  let current: unknown = error;
  // The innermost cause says what went wrong; the outer layers say "activity task failed".
  while (current instanceof Error && (current as { cause?: unknown }).cause instanceof Error) {
    current = (current as { cause: Error }).cause;
  }
  return current instanceof Error ? current.message : String(current);
}

/**
 * Runs a process body and records how it ended even when it is cancelled or fails: cleanup runs in a
 * non-cancellable scope, then the original error is rethrown so Temporal shows the real status.
 */
export async function trackRun<T>(
  tracker: RunTracker,
  body: () => Promise<T>,
  onAbort: (status: 'cancelled' | 'failed', reason: string) => Promise<void>,
): Promise<T> {
  try {
    return await body();
  } catch (error) {
    // Continuing as new is how a long run carries on, not how it ends.
    if (error instanceof ContinueAsNew) throw error;
    const cancelled = isCancellation(error);
    const by = tracker.cancelledBy;
    const reason = cancelled ? (by ? `cancelled by ${by.actorEmail}: ${by.reason}` : 'cancelled by an operator') : failureMessage(error);
    const failedStep = cancelled ? undefined : failedStepOf(error);
    if (failedStep) tracker.failedIn(failedStep);
    await CancellationScope.nonCancellable(async () => {
      await onAbort(cancelled ? 'cancelled' : 'failed', reason);
      await tracker.close(cancelled ? 'cancelled' : 'failed', cancelled ? 'cancelled' : 'failed', reason, cancelled && by ? by.actorEmail : 'opsflow');
    });
    throw error;
  }
}
