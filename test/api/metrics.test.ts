import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/ports.js';
import { checkPrometheusText, resolvePromlint, type PrometheusSample } from '../../dev/promlint.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

type Sample = PrometheusSample;

/**
 * Scraped and parsed by Prometheus's own parser; Opsflow's own metrics must also pass its naming linter. The
 * Node.js runtime gauges prom-client adds by default (`*_nodejs_active_handles_total` and kin) are prom-client's
 * names, not ours, and are left as it exposes them.
 */
const ownMetric = (name: string) => name.startsWith('opsflow_') && !/^opsflow_(api|worker)_(nodejs|process)_/.test(name);

async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const { samples, problems } = await checkPrometheusText(await response.text());
  expect(problems.filter((p) => ownMetric(p.metric))).toEqual([]);
  return samples;
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

describe('metrics', () => {
  let stack: Stack;
  let workerMetricsPort: number;
  let sdkMetricsPort: number;
  beforeAll(async () => {
    await resolvePromlint();
    stack = await startStack({ worker: 'none' });
    workerMetricsPort = await freePort();
    sdkMetricsPort = await freePort();
    stack.workerEnv.WORKER_METRICS_PORT = String(workerMetricsPort);
    stack.workerEnv.TEMPORAL_SDK_METRICS_PORT = String(sdkMetricsPort);
    await stack.startWorkerProcess();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('/metrics parses and its counters move when a run starts and a decision is made', async () => {
    const before = await scrape(`${stack.apiUrl}/metrics`);
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Metered', amount: 1_200 }), settings: quickTiming });
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Metered/ });
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, body.runId, 'completed');

    const after = await scrape(`${stack.apiUrl}/metrics`);
    expect(value(after, 'opsflow_runs_started_total', { process: 'capex' }) - value(before, 'opsflow_runs_started_total', { process: 'capex' })).toBe(1);
    expect(value(after, 'opsflow_decisions_total', { channel: 'link', decision: 'approved' }) - value(before, 'opsflow_decisions_total', { channel: 'link', decision: 'approved' })).toBe(1);
    expect(value(after, 'opsflow_http_request_duration_seconds_count', { route: '/runs', method: 'POST', status: '201' })).toBeGreaterThanOrEqual(1);
    expect(after.some((s) => s.labels.route === '/approvals/:token')).toBe(true);
    expect(after.some((s) => /approvals\/[A-Za-z0-9_-]{43}/.test(s.labels.route ?? ''))).toBe(false);

    const worker = await waitUntil(async () => {
      const samples = await scrape(`http://127.0.0.1:${workerMetricsPort}/metrics`);
      return value(samples, 'opsflow_runs_closed_total', { process: 'capex', outcome: 'completed' }) >= 1 ? samples : undefined;
    }, 'the worker to count the closed run');
    expect(value(worker, 'opsflow_emails_total', { kind: 'approval.request', result: 'sent' })).toBe(1);
    expect(value(worker, 'opsflow_activities_total', { activity: 'createPurchaseOrder', result: 'completed' })).toBe(1);

    // The Temporal SDK's own metrics follow the conventions too (countersTotalSuffix, unitSuffix, seconds).
    const sdkText = await (await fetch(`http://127.0.0.1:${sdkMetricsPort}/metrics`)).text();
    const sdk = await checkPrometheusText(sdkText);
    expect(sdk.samples.some((s) => s.name.startsWith('temporal_'))).toBe(true);
    expect(sdk.problems.filter((p) => p.metric.startsWith('temporal_'))).toEqual([]);
    expect(sdk.samples.some((s) => /^temporal_.*_seconds_bucket$/.test(s.name))).toBe(true);
  });

  it('rejects what Prometheus rejects and flags names its conventions object to', async () => {
    await expect(checkPrometheusText('opsflow_broken{route="/x" 1\n')).rejects.toThrow(/Not valid Prometheus text: .*parsing error/);
    const { problems } = await checkPrometheusText('# HELP opsflow_things Things.\n# TYPE opsflow_things counter\nopsflow_things 1\n# HELP opsflow_wait_ms Wait.\n# TYPE opsflow_wait_ms gauge\nopsflow_wait_ms 3\n');
    expect(problems).toEqual([
      { metric: 'opsflow_things', text: 'counter metrics should have "_total" suffix' },
      { metric: 'opsflow_wait_ms', text: 'metric names should not contain abbreviated units' },
    ]);
  });

  it('counts activity failures by type', async () => {
    stack.simulators.injectFault({ system: 'erp', route: 'POST /purchase-orders', fail: 2, status: 503 });
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Flaky ERP', amount: 1_300 }), settings: quickTiming });
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Flaky ERP/ });
    expect((await submitDecision(link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, body.runId, 'completed', 40_000);
    const samples = await scrape(`http://127.0.0.1:${workerMetricsPort}/metrics`);
    expect(value(samples, 'opsflow_activity_failures_total', { activity: 'createPurchaseOrder', type: 'ErpUnavailable' })).toBe(2);
    expect(stack.simulators.erp.findByReference(body.runId)).toHaveLength(1);
  });
});
