import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/ports.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const run = promisify(execFile);

interface ExportedSpan {
  service: string;
  name: string;
  traceId: string;
}

/** An OTLP/HTTP collector stand-in: keeps every span the processes export to /v1/traces (JSON, as the exporter sends). */
async function startOtlpReceiver(): Promise<{ url: string; spans: ExportedSpan[]; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  type Attribute = { key: string; value: { stringValue?: string } };
  type Payload = { resourceSpans?: Array<{ resource?: { attributes?: Attribute[] }; scopeSpans?: Array<{ spans?: Array<{ name: string; traceId: string }> }> }> };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        const payload = JSON.parse(Buffer.concat(chunks).toString()) as Payload;
        for (const resourceSpans of payload.resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const scope of resourceSpans.scopeSpans ?? []) for (const span of scope.spans ?? []) spans.push({ service, name: span.name, traceId: span.traceId });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What the image runs: `npm run build`'s two steps (tsc with tsconfig.build.json, then the workflow bundle from the
 * compiled worker) into a scratch folder inside the repository (so node_modules resolve), then the compiled API and
 * worker started with plain `node` — no tsx — on this machine's Node, against the test stack.
 */
describe('the compiled build (dist/)', () => {
  const out = join(root, 'test-output', `build-${randomUUID().slice(0, 8)}`);
  let stack: Stack;
  let api: { url: string };
  let workerPort: number;
  let workerOutput = '';
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;

  beforeAll(async () => {
    const build = (async () => {
      await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: root, timeout: 170_000 });
      await run(process.execPath, [join(out, 'worker/build-bundle.js')], { cwd: root, timeout: 120_000 });
    })();
    [stack, otlp] = await Promise.all([startStack({ worker: 'none' }), startOtlpReceiver(), build]);
    workerPort = await freePort();
    // Traces go to the receiver in batches every 300 ms (OTEL_BSP_SCHEDULE_DELAY; 5 s by default).
    const tracing = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '300' };
    // Unset the test bundle: the compiled worker must find the one built beside it.
    const env = { ...tracing, WORKFLOW_BUNDLE_PATH: '', WORKER_METRICS_PORT: String(workerPort) };
    await stack.startWorkerProcess({ nodeArgs: ['--enable-source-maps', join(out, 'worker/main.js')], env, onOutput: (text) => (workerOutput += text) });
    api = await stack.startApiProcess({ nodeArgs: ['--enable-source-maps', join(out, 'api/server.js')], env: tracing });
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    await otlp?.close();
    await rm(out, { recursive: true, force: true });
  });

  it('emits JavaScript only, with the Prisma client and the migrate job’s role tool, and no tests or dev stack', () => {
    for (const file of ['api/server.js', 'worker/main.js', 'workflow-bundle.js', 'lib/generated/prisma/client.js', 'dev/db-roles.js', 'dev/apikey.js', 'lib/healthcheck.js', 'cli/opsflow.js']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    for (const absent of ['test', 'bench', 'dev/main.js', 'dev/simulators', 'dev/postgres.js']) expect(existsSync(join(out, absent)), absent).toBe(false);
  });

  it('answers /healthz on the API and the worker, and runs a capex through to its purchase order', async () => {
    expect((await getJson(`${api.url}/healthz`)).status).toBe(200);
    const health = await getJson(`http://127.0.0.1:${workerPort}/healthz`);
    expect(health).toMatchObject({ status: 200, body: { status: 'ok', worker: 'RUNNING' } });
    expect(workerOutput).toContain(join(out, 'workflow-bundle.js'));

    const { status, body } = await postJson(`${api.url}/runs`, { process: 'capex', input: capexInput({ title: 'Compiled', amount: 1_400 }), settings: quickTiming });
    expect(status).toBe(201);
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Compiled/ });
    // Decided through the compiled API, not the test's own in-process one.
    expect((await submitDecision(link.replace(stack.apiUrl, api.url), 'approve')).status).toBe(200);
    await waitForRunStatus(stack, body.runId as string, 'completed');
    expect(stack.simulators.erp.findByReference(body.runId as string)).toHaveLength(1);

    const metrics = await fetch(`http://127.0.0.1:${workerPort}/metrics`);
    expect(await metrics.text()).toMatch(/opsflow_activities_total\{activity="createPurchaseOrder",result="completed"\} 1/);

    // With OTEL_EXPORTER_OTLP_ENDPOINT set, both processes export over OTLP/HTTP, and the run is one trace across them.
    const traced = await waitUntil(async () => {
      const start = otlp.spans.find((s) => s.service === 'opsflow-api' && s.name === 'POST /runs');
      const inTrace = otlp.spans.filter((s) => s.traceId === start?.traceId);
      const names = new Set(inTrace.map((s) => `${s.service} ${s.name}`));
      return ['opsflow-api StartWorkflow:capexWorkflow', 'opsflow-worker RunWorkflow:capexWorkflow', 'opsflow-worker RunActivity:createPurchaseOrder', 'opsflow-worker POST Erp'].every((n) => names.has(n)) ? names : undefined;
    }, `the run's spans at the OTLP receiver; got ${otlp.spans.length}`);
    expect(traced.size).toBeGreaterThan(4);
  });

  it("runs the opsflow bin from the build with plain node, from outside the repository: --help, and a run's status from the compiled API", async () => {
    // package.json's bin, as npm links it: the file made executable and started by its own shebang (no tsx).
    const bin = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin: { opsflow: string } }).bin.opsflow;
    expect(bin).toMatch(/^dist\//);
    const cli = join(out, bin.slice('dist/'.length));
    expect((await readFile(cli, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
    await chmod(cli, 0o755);
    const elsewhere = await mkdtemp(join(tmpdir(), 'opsflow-bin-'));
    const env = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: elsewhere, OPSFLOW_CONFIG: join(elsewhere, 'none.json') };

    const help = await run(cli, ['--help'], { cwd: elsewhere, env });
    expect(help.stdout).toMatch(/^Usage: opsflow /);
    for (const command of ['runs', 'approvals', 'events', 'policy', 'keys']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));

    const { body } = await postJson(`${api.url}/runs`, { process: 'capex', input: capexInput({ title: 'Compiled CLI', amount: 1_300 }), settings: quickTiming });
    const shown = await run(cli, ['runs', 'show', body.runId as string, '--json'], { cwd: elsewhere, env: { ...env, OPSFLOW_URL: api.url, OPSFLOW_KEY: stack.adminKey } });
    expect(JSON.parse(shown.stdout)).toMatchObject({ runId: body.runId, title: 'Compiled CLI', status: 'running' });
    await rm(elsewhere, { recursive: true, force: true });
  });

  it('the healthcheck script exits 0 on a healthy endpoint and 1 on an unreachable one', async () => {
    await run(process.execPath, [join(out, 'lib/healthcheck.js'), `${api.url}/healthz`]);
    const closed = await freePort();
    await expect(run(process.execPath, [join(out, 'lib/healthcheck.js'), `http://127.0.0.1:${closed}/healthz`])).rejects.toMatchObject({ code: 1 });
  });
});
