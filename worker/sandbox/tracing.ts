import type * as OpenTelemetryWorkflow from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import { defaultPayloadConverter, type Headers } from '@temporalio/common';
import type { WorkflowInboundCallsInterceptor, WorkflowInterceptorsFactory, WorkflowInternalsInterceptor, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';
import { decidePatchBaseline, hasPatch, TRACED_ONLY_WITH_CONTEXT } from '../../workflows/patches.js';

/** The header the OpenTelemetry interceptors carry a trace in (their TRACE_HEADER; test/unit/tracing-header.test.ts). */
export const TRACE_HEADER = '_tracer-data';

/**
 * The OpenTelemetry interceptors' workflow module (with @opentelemetry/api and its SDK), evaluated by a traced run
 * only, when it first needs a tracer: the bundle keeps it (webpack resolves this `require`), and an untraced run never
 * evaluates it. The modules a workflow evaluates are its own (the workflows themselves are shared, preloaded); these
 * libraries, a few hundred functions and objects, would otherwise be allocated again for every cached run.
 */
const openTelemetryWorkflow = () => require('@temporalio/interceptors-opentelemetry/lib/workflow/index.js') as typeof OpenTelemetryWorkflow;

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
  // Made on first use, by a traced run only: each builds the run's OpenTelemetry tracer (its provider, span processor,
  // exporter and resource, and a promise that stays pending), which an untraced run would carry for nothing while it
  // waits in the worker's cache. Making them makes no command, so when they are made does not change a history.
  let otel:
    | { inbound: OpenTelemetryWorkflow.OpenTelemetryInboundInterceptor; outbound: OpenTelemetryWorkflow.OpenTelemetryOutboundInterceptor; internals: OpenTelemetryWorkflow.OpenTelemetryInternalsInterceptor }
    | undefined;
  const traceWith = () => {
    if (!otel) {
      const { OpenTelemetryInboundInterceptor, OpenTelemetryOutboundInterceptor, OpenTelemetryInternalsInterceptor } = openTelemetryWorkflow();
      otel = { inbound: new OpenTelemetryInboundInterceptor(), outbound: new OpenTelemetryOutboundInterceptor(), internals: new OpenTelemetryInternalsInterceptor() };
    }
    return otel;
  };
  let traced = true;
  const inbound: WorkflowInboundCallsInterceptor = {
    execute(input, next) {
      decidePatchBaseline();
      traced = !(startedOutsideTrace(input.headers) && hasPatch(TRACED_ONLY_WITH_CONTEXT));
      return traced ? traceWith().inbound.execute(input, next) : next(input);
    },
    handleSignal: (input, next) => (traced ? traceWith().inbound.handleSignal(input, next) : next(input)),
    handleUpdate: (input, next) => (traced ? traceWith().inbound.handleUpdate(input, next) : next(input)),
    validateUpdate: (input, next) => (traced ? traceWith().inbound.validateUpdate(input, next) : next(input)),
    handleQuery: (input, next) => (traced ? traceWith().inbound.handleQuery(input, next) : next(input)),
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => (traced ? traceWith().outbound.scheduleActivity(input, next) : next(input)),
    scheduleLocalActivity: (input, next) => (traced ? traceWith().outbound.scheduleLocalActivity(input, next) : next(input)),
    startNexusOperation: (input, next) => (traced ? traceWith().outbound.startNexusOperation(input, next) : next(input)),
    startChildWorkflowExecution: (input, next) => (traced ? traceWith().outbound.startChildWorkflowExecution(input, next) : next(input)),
    continueAsNew: (input, next) => (traced ? traceWith().outbound.continueAsNew(input, next) : next(input)),
    signalWorkflow: (input, next) => (traced ? traceWith().outbound.signalWorkflow(input, next) : next(input)),
    // The SDK asks for log attributes before `execute` too: no span exists then, so nothing to add and nothing to build.
    getLogAttributes: (input, next) => (traced && otel ? otel.outbound.getLogAttributes(input, next) : next(input)),
  };
  // The OpenTelemetry interceptors' own `dispose` (their context manager's) matters only to a run that made them.
  const internals: WorkflowInternalsInterceptor = {
    dispose: (input, next) => (otel ? void otel.internals.dispose(input, next) : next(input)),
  };
  return { inbound: [inbound], outbound: [outbound], internals: [internals] };
};
