import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/ports.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format: comments, then `name{label="value",...} number` lines. Throws on anything else. */
function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!match) throw new Error(`Not Prometheus text: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parsePrometheus(await response.text());
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

describe('metrics', () => {
  let stack: Stack;
  let workerMetricsPort: number;
  let sdkMetricsPort: number;
  beforeAll(async () => {
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

    const sdk = await scrape(`http://127.0.0.1:${sdkMetricsPort}/metrics`);
    expect(sdk.some((s) => s.name.startsWith('temporal_'))).toBe(true);
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
