import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing } from '../../lib/tracing.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * One trace from the API request to the external system: the API, the Temporal client and worker, the workflow
 * sandbox and the ERP simulator all run in this process, so one in-memory exporter sees every span they end.
 */
describe('tracing (OpenTelemetry)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: ReturnType<typeof startTracing>;
  let stack: Stack;
  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'opsflow-test', exporter });
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
    await tracing?.shutdown();
  });

  it('follows POST /runs through the workflow and its activities to the ERP call, in one trace', async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Traced', amount: 1_600 }), settings: quickTiming });
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Traced/ });
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, body.runId as string, 'completed');

    const spans = () => exporter.getFinishedSpans();
    const named = (name: string | RegExp, trace?: string) => spans().filter((s) => (typeof name === 'string' ? s.name === name : name.test(s.name)) && (!trace || s.spanContext().traceId === trace));
    const start = named('POST /runs').find((s) => s.kind === SpanKind.SERVER);
    expect(start, 'the API server span').toBeDefined();
    const traceId = start!.spanContext().traceId;
    // The workflow span ends with the run; the simulator's span may end a moment after the client's.
    const inTrace = await waitUntil(async () => {
      const found = {
        startWorkflow: named('StartWorkflow:capexWorkflow', traceId)[0],
        runWorkflow: named('RunWorkflow:capexWorkflow', traceId)[0],
        runActivity: named('RunActivity:createPurchaseOrder', traceId)[0],
        erpClient: named('POST Erp', traceId)[0],
        erpServer: named(/^POST \/erp\/purchase-orders/, traceId)[0],
      };
      return Object.values(found).every(Boolean) ? (found as Record<keyof typeof found, ReadableSpan>) : undefined;
    }, `every span of run ${body.runId as string} in trace ${traceId}; saw ${spans().map((s) => `${s.name}@${s.spanContext().traceId.slice(0, 6)}`).join(', ')}`);

    const parentOf = (span: ReadableSpan) => span.parentSpanId;
    expect(parentOf(inTrace.startWorkflow)).toBe(start!.spanContext().spanId);
    expect(inTrace.erpClient.kind).toBe(SpanKind.CLIENT);
    expect(parentOf(inTrace.erpClient)).toBe(inTrace.runActivity.spanContext().spanId);
    // The ERP simulator continued the trace from the traceparent header the activity sent.
    expect(inTrace.erpServer.kind).toBe(SpanKind.SERVER);
    expect(parentOf(inTrace.erpServer)).toBe(inTrace.erpClient.spanContext().spanId);
    expect(inTrace.erpClient.attributes['http.response.status_code']).toBe(201);
    // Other activities of the run (the approval request, its mail) are in the same trace.
    expect(named(/^RunActivity:/, traceId).length).toBeGreaterThan(2);
    // Started inside a trace, the run keeps its interceptors (patch traced-only-with-context): every activity it
    // scheduled carries the trace header.
    const history = await stack.temporal.workflow.getHandle(body.runId as string).fetchHistory();
    const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
    expect(scheduled.length).toBeGreaterThan(0);
    expect(scheduled.filter((a) => !a.header?.fields?.['_tracer-data'])).toEqual([]);
  });

  it('continues a trace the caller started (W3C traceparent on the request)', async () => {
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const { status } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Traced by caller', amount: 1_700 }), settings: quickTiming }, { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` });
    expect(status).toBe(201);
    const server = exporter.getFinishedSpans().find((s) => s.name === 'POST /runs' && s.spanContext().traceId === callerTrace);
    expect(server?.parentSpanId).toBe('00f067aa0ba902b7');
    await waitUntil(async () => exporter.getFinishedSpans().some((s) => s.name === 'StartWorkflow:capexWorkflow' && s.spanContext().traceId === callerTrace), 'StartWorkflow in the caller’s trace');
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Traced by caller/ });
    expect((await submitDecision(link, 'reject', 'not this quarter')).status).toBe(200);
  });
});
