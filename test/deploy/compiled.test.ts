import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../dev/ports.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const run = promisify(execFile);
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

  beforeAll(async () => {
    const build = (async () => {
      await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: root, timeout: 170_000 });
      await run(process.execPath, [join(out, 'worker/build-bundle.js')], { cwd: root, timeout: 120_000 });
    })();
    [stack] = await Promise.all([startStack({ worker: 'none' }), build]);
    workerPort = await freePort();
    // Unset the test bundle: the compiled worker must find the one built beside it.
    const env = { WORKFLOW_BUNDLE_PATH: '', WORKER_METRICS_PORT: String(workerPort) };
    await stack.startWorkerProcess({ nodeArgs: ['--enable-source-maps', join(out, 'worker/main.js')], env, onOutput: (text) => (workerOutput += text) });
    api = await stack.startApiProcess({ nodeArgs: ['--enable-source-maps', join(out, 'api/server.js')] });
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    await rm(out, { recursive: true, force: true });
  });

  it('emits JavaScript only, with the Prisma client and the migrate job’s role tool, and no tests or dev stack', () => {
    for (const file of ['api/server.js', 'worker/main.js', 'workflow-bundle.js', 'lib/generated/prisma/client.js', 'dev/db-roles.js', 'dev/apikey.js', 'lib/healthcheck.js']) {
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
  });

  it('the healthcheck script exits 0 on a healthy endpoint and 1 on an unreachable one', async () => {
    await run(process.execPath, [join(out, 'lib/healthcheck.js'), `${api.url}/healthz`]);
    const closed = await freePort();
    await expect(run(process.execPath, [join(out, 'lib/healthcheck.js'), `http://127.0.0.1:${closed}/healthz`])).rejects.toMatchObject({ code: 1 });
  });
});
