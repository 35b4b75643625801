import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics. The API and the worker are separate processes, each with its own registry and endpoint:
 * the API serves /metrics; the worker serves WORKER_METRICS_PORT (its own counters) and, when set,
 * TEMPORAL_SDK_METRICS_PORT (the Temporal SDK's metrics).
 */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'opsflow_api_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'opsflow_http_request_duration_seconds',
      help: 'HTTP request latency by route template',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers: [registry],
    }),
    runsStarted: new Counter({
      name: 'opsflow_runs_started_total',
      help: 'Runs started through the API, by process',
      labelNames: ['process'] as const,
      registers: [registry],
    }),
    decisions: new Counter({
      name: 'opsflow_decisions_total',
      help: 'Decisions delivered to runs, by channel (link, api) and decision',
      labelNames: ['channel', 'decision'] as const,
      registers: [registry],
    }),
    runsStuck: new Gauge({
      name: 'opsflow_runs_stuck',
      help: 'Running runs whose workflow task keeps failing (nothing they are sent is applied), as of the last health sweep',
      registers: [registry],
    }),
  };
}
export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'opsflow_worker_' });
  return {
    registry,
    activities: new Counter({
      name: 'opsflow_activities_total',
      help: 'Activity executions by activity and result',
      labelNames: ['activity', 'result'] as const,
      registers: [registry],
    }),
    activityFailures: new Counter({
      name: 'opsflow_activity_failures_total',
      help: 'Failed activity attempts by activity and failure type (e.g. ErpUnavailable, ApproverNotFound)',
      labelNames: ['activity', 'type'] as const,
      registers: [registry],
    }),
    emails: new Counter({
      name: 'opsflow_emails_total',
      help: 'E-mails by kind and result (sent, failed)',
      labelNames: ['kind', 'result'] as const,
      registers: [registry],
    }),
    runsClosed: new Counter({
      name: 'opsflow_runs_closed_total',
      help: 'Runs closed, by process and outcome',
      labelNames: ['process', 'outcome'] as const,
      registers: [registry],
    }),
  };
}
export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
