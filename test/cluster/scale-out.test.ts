import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporalCluster, type TemporalCluster } from '../../dev/temporal-cluster.js';
import { freePort } from '../../dev/ports.js';
import { connectClient } from '../../lib/temporal.js';
import { createOpsflowWorker } from '../../worker/worker.js';
import { createLogger } from '../../lib/logger.js';
import { approvers, capexInput } from '../support/fixtures.js';
import { approvalLinkIn, getJson, postJson, submitDecision, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW (the proto package is not a dependency of ours). */
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/** The complete JSON lines a process logged (pino), skipping anything else it printed. */
function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Opsflow on the distributed engine it is built on: the real Temporal server (not start-dev) on PostgreSQL with
 * four history shards and SQL visibility, its frontend over mTLS; two worker processes and two API processes
 * connected with certificates; one worker killed mid-run.
 */
describe('Opsflow on a real Temporal cluster', () => {
  let dir: string;
  let cluster: TemporalCluster;
  let stack: Stack;
  let workers: ChildProcess[];
  let apis: Array<{ url: string }>;
  const defaults = { TEMPORAL_ADDRESS: 'unset:7233', TEMPORAL_NAMESPACE: 'default' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsflow-cluster-'));
    // As root, PostgreSQL runs as its own system user, which must reach its data directory.
    await chmod(dir, 0o755);
    cluster = await startTemporalCluster({ dir, historyShards: 4 });
    stack = await startStack({ worker: 'none', temporalEnv: cluster.env });
    workers = [await stack.startWorkerProcess(), await stack.startWorkerProcess()];
    apis = [await stack.startApiProcess(), await stack.startApiProcess()];
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('connects with a temporal.toml profile or TEMPORAL_* variables, and refuses a client without a valid certificate, saying why', async () => {
    const fromProfile = await connectClient(defaults, { TEMPORAL_CONFIG_FILE: cluster.tomlPath, TEMPORAL_PROFILE: 'cluster' });
    expect((await fromProfile.workflowService.getSystemInfo({})).serverVersion).toBe('1.29.1');
    await fromProfile.connection.close();
    const fromEnv = await connectClient(defaults, cluster.env);
    await fromEnv.workflowService.describeNamespace({ namespace: 'default' });
    await fromEnv.connection.close();

    // Each refusal names the address and what TLS said, derived from how the certificates were made: the stranger's
    // CA is unknown to the cluster, which requires a client certificate and serves only TLS.
    const refused = `Could not connect to Temporal at ${cluster.address}: `;
    const stranger = { ...cluster.env, TEMPORAL_TLS_CLIENT_CERT_PATH: cluster.certificates.strangerCert, TEMPORAL_TLS_CLIENT_KEY_PATH: cluster.certificates.strangerKey };
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...withoutCertificate } = cluster.env;
    const { TEMPORAL_TLS: _t, TEMPORAL_TLS_SERVER_CA_CERT_PATH: _ca, TEMPORAL_TLS_SERVER_NAME: _n, ...plaintext } = withoutCertificate;
    const strangerRefused = `${refused}the server refused this client certificate (TLS alert "unknown ca")`;
    for (const [env, reason] of [
      [stranger, strangerRefused],
      [withoutCertificate, `${refused}the server refused a connection without a client certificate (TLS alert "certificate required")`],
      [plaintext, `${refused}the server speaks TLS and this connection does not`],
    ] as const) {
      const attempt = connectClient(defaults, env).then(async (client) => {
        // Some refusals only surface on the first call after the handshake.
        await client.workflowService.getSystemInfo({});
        return client;
      });
      await expect(attempt).rejects.toThrow(reason);
    }
    const worker = createOpsflowWorker({ config: { ...stack.config }, logger: createLogger('test', 'silent'), temporalEnv: stranger });
    await expect(worker).rejects.toThrow(strangerRefused);
    await expect(connectClient(defaults, { ...cluster.env, TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') })).rejects.toThrow(/TEMPORAL_CONFIG_FILE=.*does not exist/);
  });

  it('runs a worker process from a temporal.toml profile alone', async () => {
    const onlyTheProfile = { ...Object.fromEntries(Object.keys(cluster.env).map((name) => [name, undefined])), TEMPORAL_CONFIG_FILE: cluster.tomlPath, TEMPORAL_PROFILE: 'cluster' };
    let output = '';
    const worker = await stack.startWorkerProcess({ env: onlyTheProfile, onOutput: (text) => (output += text) });
    try {
      expect(logLines(output).find((line) => line.msg === 'worker started')).toMatchObject({ address: cluster.address, taskQueue: stack.taskQueue });
      // It polls the task queue over mTLS: Temporal lists it among the pollers (the SDK's identity is pid@host).
      await waitUntil(async () => {
        const { pollers } = await stack.temporal.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: stack.taskQueue }, taskQueueType: TASK_QUEUE_TYPE_WORKFLOW });
        return pollers?.some((poller) => poller.identity?.startsWith(`${worker.pid}@`)) || undefined;
      }, 'the profile worker to poll the task queue', 60_000);
    } finally {
      // The scale-out case below runs on exactly two workers.
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await exited;
    }
  });

  it('a worker process with a refused certificate logs why on every attempt and is unhealthy; an API process answers 503', async () => {
    const stranger = { ...cluster.env, TEMPORAL_TLS_CLIENT_CERT_PATH: cluster.certificates.strangerCert, TEMPORAL_TLS_CLIENT_KEY_PATH: cluster.certificates.strangerKey };
    const metricsPort = await freePort(0);
    const worker = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], { cwd: root, env: { ...stack.workerEnv, ...stranger, WORKER_METRICS_PORT: String(metricsPort) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    worker.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const expected = `Temporal at ${cluster.address} refused the worker's connection: the server refused this client certificate (TLS alert "unknown ca"). Check the TLS settings (TEMPORAL_TLS_* or the temporal.toml profile); the worker reads them again and retries`;
      const refusals = await waitUntil(async () => {
        const lines = logLines(output).filter((line) => line.msg === expected);
        return lines.length >= 2 ? lines : undefined;
      }, 'two refused attempts in the worker log', 30_000);
      expect(refusals[0]).toMatchObject({ level: 50 /* pino's error */, address: cluster.address });
      const health = await getJson(`http://127.0.0.1:${metricsPort}/healthz`);
      expect(health).toMatchObject({ status: 503, body: { status: 'unavailable' } });
      expect(worker.exitCode).toBeNull();
    } finally {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await exited;
    }

    const api = await stack.startApiProcess({ env: stranger });
    try {
      const health = await getJson(`${api.url}/healthz`);
      expect(health.status).toBe(503);
      expect(health.body.checks).toMatchObject({ database: { ok: true }, temporal: { ok: false } });
    } finally {
      api.process.kill('SIGKILL');
    }
  });

  it('runs capex across two workers and two APIs, one worker killed mid-run: every run completes with one PO and no duplicate mail', async () => {
    const runs = 6;
    const titles = Array.from({ length: runs }, (_, i) => `Cluster press ${i + 1}`);
    const started = performance.now();
    const runIds: string[] = [];
    for (const [i, title] of titles.entries()) {
      const api = apis[i % 2]!.url;
      const { status, body } = await postJson(`${api}/runs`, { process: 'capex', input: capexInput({ title, amount: 25_000 }) });
      expect(status, title).toBe(201);
      runIds.push(body.runId as string);
    }
    const decideOnOtherApi = async (i: number, approver: string) => {
      const mail = await stack.mail.waitFor((m) => m.to.includes(approver) && m.subject.includes(`${titles[i]} (`), { timeoutMs: 60_000 });
      const link = approvalLinkIn(mail).replace(stack.apiUrl, apis[(i + 1) % 2]!.url);
      const answer = await submitDecision(link, 'approve');
      expect([200, 202], `${titles[i]}: ${approver}`).toContain(answer.status);
    };
    let killedAt = 0;
    for (let i = 0; i < runs; i++) {
      await decideOnOtherApi(i, approvers.lineManager);
      if (i === runs / 2 - 1) {
        // Half the line managers have decided: one worker dies without a chance to finish what it holds.
        const exited = new Promise((resolve) => workers[0]!.once('exit', resolve));
        workers[0]!.kill('SIGKILL');
        killedAt = Date.now();
        await exited;
      }
    }
    for (let i = 0; i < runs; i++) await decideOnOtherApi(i, approvers.financeDirector);
    for (const runId of runIds) {
      await waitUntil(async () => (await getJson(`${stack.apiUrl}/runs/${runId}`)).body.status === 'completed' || undefined, `${runId} to complete`, 120_000);
    }
    const seconds = (performance.now() - started) / 1000;
    let copies = 0;
    console.log(`[cluster] ${runs} two-step capex runs over 2 APIs and 2 workers (one SIGKILLed) completed in ${seconds.toFixed(1)} s`);

    for (const [i, runId] of runIds.entries()) {
      expect(stack.simulators.erp.findByReference(runId), `${titles[i]}: purchase orders`).toHaveLength(1);
      const mails = stack.mail.messages().filter((m) => m.subject.includes(`${titles[i]} (`) || m.subject.endsWith(`: ${titles[i]}`));
      for (const [who, email] of [['line manager', approvers.lineManager], ['finance director', approvers.financeDirector]] as const) {
        const theirs = mails.filter((m) => m.to.includes(email));
        // One mail each. The one exception (README, Reliability): the killed worker had handed a mail to SMTP but not
        // yet recorded it; its retry sends that same message again, same Message-ID, so the inbox shows it once.
        expect(new Set(theirs.map((m) => m.messageId)).size, `${titles[i]}: ${who}: distinct mails`).toBe(1);
        if (theirs.length > 1) {
          copies += theirs.length - 1;
          expect(theirs.length, `${titles[i]}: ${who}: at most one copy for the one kill`).toBe(2);
          const first = Math.min(...theirs.map((m) => m.receivedAt.getTime()));
          expect(first, `${titles[i]}: ${who}: a copy of a mail handed off before the kill`).toBeLessThanOrEqual(killedAt);
          expect(first, `${titles[i]}: ${who}: within one attempt's start-to-close (30 s) of the kill`).toBeGreaterThanOrEqual(killedAt - 30_000);
        }
      }
      const told = await waitUntil(async () => {
        const outcome = stack.mail.messages().filter((m) => m.to.includes(approvers.requester) && m.subject.endsWith(`: ${titles[i]}`));
        return outcome.length ? outcome : undefined;
      }, `${titles[i]}: the requester's mail`);
      expect(told.map((m) => m.subject), `${titles[i]}: requester`).toEqual([`Your request was approved: ${titles[i]}`]);
    }
    console.log(`[cluster] approval mail copies after the worker kill: ${copies}`);

    // SQL visibility on the cluster carries Opsflow's search attributes.
    const found = await waitUntil(async () => {
      const ids: string[] = [];
      for await (const run of stack.temporal.workflow.list({ query: `TaskQueue = '${stack.taskQueue}' AND OpsflowProcess = 'capex' AND OpsflowStatus = 'completed' AND OpsflowAmount >= 25000` })) ids.push(run.workflowId);
      return ids.length === runs ? ids : undefined;
    }, 'the runs in visibility');
    expect(found.sort()).toEqual([...runIds].sort());
  });
});
