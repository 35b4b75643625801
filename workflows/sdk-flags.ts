import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { SdkFlags } from '@temporalio/workflow/lib/flags.js';
import { getActivator } from '@temporalio/workflow/lib/global-attributes.js';

/**
 * A workflow interceptor module (bundled beside the OpenTelemetry ones, lib/tracing.ts) that records in a run's first
 * workflow task the SDK flag under which the OpenTelemetry interceptors trace Updates.
 *
 * Why: the SDK records a flag in the history of the workflow task that first asks for it. For
 * `OpenTelemetryInterceptorsInstrumentsAllMethods` that is the task of the run's first Update. When its validator
 * refuses that Update (a reply "changes" with no comment, a reassignment to the requester), the server drops that
 * speculative task and the flag's record with it, while the worker goes on as if it were recorded. The next
 * accepted Update is then traced live (one more await in its handler) and untraced on replay, so the run fails
 * with a determinism error ("Update machine does not handle this event: TimerCanceled") as soon as a worker has to
 * replay it (after a restart or a cache eviction). A run's first workflow task is never dropped, so asking for the
 * flag there keeps live runs and replays alike. It adds no command: histories recorded before this replay as they
 * did (replay enables the flag only where their history says so).
 */
export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      execute(input, next) {
        getActivator().hasFlag(SdkFlags.OpenTelemetryInterceptorsInstrumentsAllMethods);
        return next(input);
      },
    },
  ],
});
