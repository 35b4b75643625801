import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTemporalCluster, type TemporalCluster } from '../../dev/temporal-cluster.js';
import { connectClient, TemporalConnectionConfigError } from '../../lib/temporal.js';
import { createOpsflowWorker } from '../../worker/worker.js';
import { createLogger } from '../../lib/logger.js';
import { approvers, capexInput } from '../support/fixtures.js';
import { approvalLinkIn, getJson, postJson, submitDecision, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

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

  it('connects with a temporal.toml profile or TEMPORAL_* variables, and refuses a client without a valid certificate', async () => {
    const fromProfile = await connectClient(defaults, { TEMPORAL_CONFIG_FILE: cluster.tomlPath, TEMPORAL_PROFILE: 'cluster' });
    expect((await fromProfile.workflowService.getSystemInfo({})).serverVersion).toBe('1.29.1');
    await fromProfile.connection.close();
    const fromEnv = await connectClient(defaults, cluster.env);
    await fromEnv.workflowService.describeNamespace({ namespace: 'default' });
    await fromEnv.connection.close();

    const stranger = { ...cluster.env, TEMPORAL_TLS_CLIENT_CERT_PATH: cluster.certificates.strangerCert, TEMPORAL_TLS_CLIENT_KEY_PATH: cluster.certificates.strangerKey };
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...withoutCertificate } = cluster.env;
    const { TEMPORAL_TLS: _t, TEMPORAL_TLS_SERVER_CA_CERT_PATH: _ca, TEMPORAL_TLS_SERVER_NAME: _n, ...plaintext } = withoutCertificate;
    for (const [what, env] of [['a certificate from another CA', stranger], ['no client certificate', withoutCertificate], ['no TLS at all', plaintext]] as const) {
      const attempt = connectClient(defaults, env).then(async (client) => {
        // Some refusals only surface on the first call after the handshake.
        await client.workflowService.getSystemInfo({});
        return client;
      });
      await expect(attempt, what).rejects.toThrow(/Temporal at 127\.0\.0\.1:\d+|handshake|certificate|UNAVAILABLE|connect/i);
    }
    await expect(createOpsflowWorker({ config: { ...stack.config }, logger: createLogger('test', 'silent'), temporalEnv: stranger })).rejects.toThrow(
      TemporalConnectionConfigError,
    );
    await expect(connectClient(defaults, { ...cluster.env, TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') })).rejects.toThrow(/TEMPORAL_CONFIG_FILE=.*does not exist/);
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
    for (let i = 0; i < runs; i++) {
      await decideOnOtherApi(i, approvers.lineManager);
      if (i === runs / 2 - 1) {
        // Half the line managers have decided: one worker dies without a chance to finish what it holds.
        const exited = new Promise((resolve) => workers[0]!.once('exit', resolve));
        workers[0]!.kill('SIGKILL');
        await exited;
      }
    }
    for (let i = 0; i < runs; i++) await decideOnOtherApi(i, approvers.financeDirector);
    for (const runId of runIds) {
      await waitUntil(async () => (await getJson(`${stack.apiUrl}/runs/${runId}`)).body.status === 'completed' || undefined, `${runId} to complete`, 120_000);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`[cluster] ${runs} two-step capex runs over 2 APIs and 2 workers (one SIGKILLed) completed in ${seconds.toFixed(1)} s`);

    for (const [i, runId] of runIds.entries()) {
      expect(stack.simulators.erp.findByReference(runId), `${titles[i]}: purchase orders`).toHaveLength(1);
      const mails = stack.mail.messages().filter((m) => m.subject.includes(`${titles[i]} (`) || m.subject.endsWith(`: ${titles[i]}`));
      expect(mails.filter((m) => m.to.includes(approvers.lineManager)).map((m) => m.subject), `${titles[i]}: line manager`).toHaveLength(1);
      expect(mails.filter((m) => m.to.includes(approvers.financeDirector)).map((m) => m.subject), `${titles[i]}: finance director`).toHaveLength(1);
      const told = await waitUntil(async () => {
        const outcome = stack.mail.messages().filter((m) => m.to.includes(approvers.requester) && m.subject.endsWith(`: ${titles[i]}`));
        return outcome.length ? outcome : undefined;
      }, `${titles[i]}: the requester's mail`);
      expect(told.map((m) => m.subject), `${titles[i]}: requester`).toEqual([`Your request was approved: ${titles[i]}`]);
    }
    const ids = stack.mail.messages().map((m) => m.messageId);
    expect(new Set(ids).size).toBe(ids.length);

    // SQL visibility on the cluster carries Opsflow's search attributes.
    const found = await waitUntil(async () => {
      const ids: string[] = [];
      for await (const run of stack.temporal.workflow.list({ query: `TaskQueue = '${stack.taskQueue}' AND OpsflowProcess = 'capex' AND OpsflowStatus = 'completed' AND OpsflowAmount >= 25000` })) ids.push(run.workflowId);
      return ids.length === runs ? ids : undefined;
    }, 'the runs in visibility');
    expect(found.sort()).toEqual([...runIds].sort());
  });
});
