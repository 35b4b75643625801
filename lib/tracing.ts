import { fileURLToPath } from 'node:url';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { NextFunction, Request, Response } from 'express';

/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes an exporter). One trace
 * follows a request through Opsflow: the API's server span (W3C `traceparent` accepted from the caller), the Temporal
 * client's StartWorkflow, the workflow's RunWorkflow and StartActivity spans (made inside the workflow sandbox and
 * exported through a sink), the worker's RunActivity, and the HTTP call to the external system with `traceparent`
 * sent on (activities/http-system.ts). The Temporal interceptors are always installed (the workflow bundle carries
 * its half either way); while tracing is off their spans go nowhere.
 */
interface ActiveTracing {
  provider: NodeTracerProvider;
  processor: SpanProcessor;
  resource: Resource;
}

let active: ActiveTracing | undefined;

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP collector base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `${endpoint}/v1/traces` in batches. */
  endpoint?: string;
  /** An in-process exporter instead (tests: InMemorySpanExporter), exported span by span. */
  exporter?: SpanExporter;
}

/** Registers the global tracer provider, context manager and W3C propagator; undefined (tracing off) without a destination. */
export function startTracing(options: TracingOptions): { shutdown(): Promise<void> } | undefined {
  if (!options.endpoint && !options.exporter) return undefined;
  if (active) throw new Error('tracing is already started in this process');
  const resource = new Resource({ 'service.name': options.serviceName });
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.endpoint!.replace(/\/$/, '')}/v1/traces` }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // AsyncLocalStorage context and the W3C trace-context (+ baggage) propagator.
  provider.register();
  active = { provider, processor, resource };
  return {
    async shutdown() {
      await provider.shutdown();
      active = undefined;
    },
  };
}

/** The Temporal client's interceptors: StartWorkflow, SignalWorkflow, StartUpdate... spans, context passed in headers. */
export function temporalClientInterceptors(): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * The workflow-side interceptors, bundled into the workflow code (`workflowInterceptorModules` at build time,
 * `interceptors.workflowModules` when a worker bundles at start): OpenTelemetry's, for the runs started inside a trace
 * (worker/sandbox/tracing.ts, patch traced-only-with-context). They add trace headers to the commands they schedule,
 * which replay does not compare. workflows/sdk-flags.ts records the SDK flag they trace Updates under in each run's
 * first workflow task (a refused first Update would lose it).
 */
const sourceOf = (path: string) => fileURLToPath(new URL(import.meta.url.endsWith('.js') ? `${path}.js` : `${path}.ts`, import.meta.url));
export const workflowTracingModules: string[] = [sourceOf('../worker/sandbox/tracing'), sourceOf('../workflows/sdk-flags')];

export function activityTracingInterceptor(): ActivityInterceptorsFactory {
  return (ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) });
}

/** Where the workflow sandbox's spans go: the active provider's processor, or nowhere while tracing is off. */
export function workflowTracingSinks(): InjectedSinks<OpenTelemetrySinks> {
  const resource = active?.resource ?? new Resource({ 'service.name': 'opsflow-worker' });
  return { exporter: makeWorkflowExporter(active?.processor ?? new NoopSpanProcessor(), resource) };
}

/** The route template (/runs/:id) once Express matched one; never the raw path, which may carry a token. */
const routeOf = (req: Request) => (req.route ? `${req.baseUrl}${String((req.route as { path: string }).path)}` : undefined);

/**
 * A server span per request, continuing the caller's trace when it sends `traceparent`, with the route template as
 * its name (`POST /runs`). Everything the request does (Temporal client calls included) runs inside it.
 */
export function httpServerSpans(tracerName: string) {
  const tracer = trace.getTracer(tracerName);
  return (req: Request, res: Response, next: NextFunction) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span: Span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent);
    res.on('finish', () => {
      const route = routeOf(req);
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

/**
 * Runs an outbound HTTP call in a client span and hands it the headers to send, `traceparent` included, so the
 * external system's spans join the trace. A thrown error marks the span failed.
 */
export async function withClientSpan<T>(name: string, attributes: Record<string, string>, call: (traceHeaders: Record<string, string>, span: Span) => Promise<T>): Promise<T> {
  return trace.getTracer('opsflow-integrations').startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    const traceHeaders: Record<string, string> = {};
    propagation.inject(context.active(), traceHeaders);
    try {
      return await call(traceHeaders, span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}
