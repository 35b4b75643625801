import type { Client } from '@temporalio/client';

/**
 * Whether a run's workflow can make progress. A workflow task that keeps failing (code that no longer replays its
 * history, a bug in a handler) leaves the run `running` in every list while nothing happens: decisions are sent
 * and never applied. Temporal retries such a task for ever; its second attempt is what marks the run stuck here.
 */
export type RunHealth =
  | { status: 'ok' }
  | { status: 'stuck'; reason: string; attempts: number; since: string | null }
  /** Temporal did not answer (or the run is unknown to it): nothing to say either way. */
  | { status: 'unknown'; reason: string };

const STUCK_FROM_ATTEMPT = 2;

function timestamp(value: { seconds?: unknown; nanos?: number | null } | null | undefined): string | null {
  if (!value?.seconds) return null;
  return new Date(Number(value.seconds) * 1000 + Math.floor((value.nanos ?? 0) / 1e6)).toISOString();
}

/**
 * The run's most recent workflow task failure, newest history events first. Temporal records only the first
 * failure of a streak (later attempts are counted, not written), so its time is when the run got stuck.
 */
async function lastTaskFailure(client: Client, workflowId: string): Promise<{ message: string; at: string | null } | undefined> {
  const { history } = await client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: 50,
  });
  for (const event of history?.events ?? []) {
    const failure = event.workflowTaskFailedEventAttributes?.failure;
    if (failure) return { message: failure.message ?? 'workflow task failed', at: timestamp(event.eventTime) };
  }
  return undefined;
}

export async function runHealth(client: Client, workflowId: string): Promise<RunHealth> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    const pending = description.raw.pendingWorkflowTask;
    if (!pending || (pending.attempt ?? 1) < STUCK_FROM_ATTEMPT) return { status: 'ok' };
    const failure = await lastTaskFailure(client, workflowId);
    return { status: 'stuck', reason: failure?.message ?? 'its workflow task keeps failing', attempts: pending.attempt ?? STUCK_FROM_ATTEMPT, since: failure?.at ?? null };
  } catch (error) {
    return { status: 'unknown', reason: (error as Error).message };
  }
}
