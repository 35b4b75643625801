import { TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type { WorkflowInboundCallsInterceptor, WorkflowInterceptorsFactory, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';
import { decidePatchBaseline, hasPatch, TRACED_ONLY_WITH_CONTEXT } from '../../workflows/patches.js';

/**
 * Whether the run was started by a client outside any trace: Opsflow's clients always send the trace header, with an
 * empty context while tracing is off. A start without the header (a Temporal schedule's) is traced as before.
 */
function startedOutsideTrace(headers: Headers): boolean {
  const payload = headers[TRACE_HEADER];
  if (!payload) return false;
  const carrier = defaultPayloadConverter.fromPayload<Record<string, unknown> | undefined>(payload);
  return typeof carrier?.traceparent !== 'string';
}

/**
 * The OpenTelemetry workflow interceptors, for the runs that are traced (patch traced-only-with-context): every run
 * but one a client started outside any trace (tracing off), and every run that began before the patch (traced from
 * its start, its handlers' awaits must stay as they were). An untraced run calls straight through. Decided in the run's first workflow task (its
 * start's headers and patch markers are in its history, so a replay decides the same), before the workflow's own
 * first command: the patch baseline is decided here first (workflows/patches.ts), so it stays the run's first marker.
 */
export const interceptors: WorkflowInterceptorsFactory = () => {
  const otelInbound = new OpenTelemetryInboundInterceptor();
  const otelOutbound = new OpenTelemetryOutboundInterceptor();
  let traced = true;
  const inbound: WorkflowInboundCallsInterceptor = {
    execute(input, next) {
      decidePatchBaseline();
      traced = !(startedOutsideTrace(input.headers) && hasPatch(TRACED_ONLY_WITH_CONTEXT));
      return traced ? otelInbound.execute(input, next) : next(input);
    },
    handleSignal: (input, next) => (traced ? otelInbound.handleSignal(input, next) : next(input)),
    handleUpdate: (input, next) => (traced ? otelInbound.handleUpdate(input, next) : next(input)),
    validateUpdate: (input, next) => (traced ? otelInbound.validateUpdate(input, next) : next(input)),
    handleQuery: (input, next) => (traced ? otelInbound.handleQuery(input, next) : next(input)),
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => (traced ? otelOutbound.scheduleActivity(input, next) : next(input)),
    scheduleLocalActivity: (input, next) => (traced ? otelOutbound.scheduleLocalActivity(input, next) : next(input)),
    startNexusOperation: (input, next) => (traced ? otelOutbound.startNexusOperation(input, next) : next(input)),
    startChildWorkflowExecution: (input, next) => (traced ? otelOutbound.startChildWorkflowExecution(input, next) : next(input)),
    continueAsNew: (input, next) => (traced ? otelOutbound.continueAsNew(input, next) : next(input)),
    signalWorkflow: (input, next) => (traced ? otelOutbound.signalWorkflow(input, next) : next(input)),
    getLogAttributes: (input, next) => (traced ? otelOutbound.getLogAttributes(input, next) : next(input)),
  };
  return { inbound: [inbound], outbound: [outbound], internals: [new OpenTelemetryInternalsInterceptor()] };
};
