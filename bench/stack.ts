import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { seedDemoOrg } from '../dev/demo-org.js';
import { startMailSink, type MailSink } from '../dev/mail-sink.js';
import { migrateDeploy } from '../dev/migrate.js';
import { freePort } from '../dev/ports.js';
import { startEmbeddedPostgres } from '../dev/postgres.js';
import { simulatorUrls, startSimulators, type Simulators } from '../dev/simulators/server.js';
import { resolveTemporalCli } from '../dev/temporal-cli.js';
import { startTemporalCluster } from '../dev/temporal-cluster.js';
import { startTemporalDevServer, stopChild } from '../dev/temporal-server.js';
import { createApiKey } from '../lib/api-keys.js';
import { createDb } from '../lib/db.js';
import { DEFAULT_RUNTIME_LOGIN, ensureRuntimeLogin } from '../lib/db-roles.js';
import { connectClient } from '../lib/temporal.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The people a 3-step capex of Alex Rivera's goes to, in order (the demo org's line manager, finance director, CFO). */
export const capexApprovers = ['morgan.lee@example.com', 'priya.shah@example.com', 'sam.okafor@example.com'] as const;
export const requesterEmail = 'alex.rivera@example.com';

export interface BenchStack {
  mode: 'dev-server' | 'cluster';
  apiUrl: string;
  adminKey: string;
  /** decisions:write keys of the capex approvers, by e-mail. */
  approverKeys: Record<string, string>;
  temporal: Client;
  mail: MailSink;
  simulators: Simulators;
  /** The owner's connection to the server's `postgres` database: reads pg_stat_database without adding to it. */
  stats: pg.Client;
  databaseName: string;
  /** The owner's URL of the Opsflow database (the API and the worker use the restricted login). */
  ownerDatabaseUrl: string;
  opsflowTaskQueue: string;
  bareTaskQueue: string;
  /** The process id of a side's worker (for its RSS). */
  workerPid(side: 'opsflow' | 'bare'): number;
  /** A second API on a task queue no worker polls: `POST /runs` measured without workers competing (as the issue did). */
  startUnpolledApi(): Promise<{ url: string; taskQueue: string }>;
  /** Stops a side's worker and starts a fresh one (empty cache); resolves once it polls, with how long that took. */
  restartWorker(side: 'opsflow' | 'bare', env?: NodeJS.ProcessEnv): Promise<{ startedInMs: number }>;
  logDir: string;
  stop(): Promise<void>;
}

export interface BenchStackOptions {
  cluster?: boolean;
  /** Extra environment for the Opsflow worker (e.g. tuning under test). */
  workerEnv?: NodeJS.ProcessEnv;
  /** The bare worker reuses SMTP connections as Opsflow's does (like for like); by default a new one per mail. */
  bareSmtpPool?: boolean;
  /** PostgreSQL's log lines; the API's and the worker's connections are named (application_name) in them. */
  postgresLog?: (line: string) => void;
  say?: (line: string) => void;
}

/** Children still running when the bench exits are killed; one exit listener for all (the RSS measure restarts workers). */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

async function pollerIdentities(temporal: Client, taskQueue: string): Promise<string[]> {
  const answer = await temporal.workflowService.describeTaskQueue({ namespace: temporal.options.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
  return (answer.pollers ?? []).map((p) => p.identity ?? '');
}

/** Waits until a process (other than `known` ones) polls the task queue's workflow tasks. */
export async function waitForPollers(temporal: Client, taskQueue: string, timeoutMs = 120_000, known: string[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await pollerIdentities(temporal, taskQueue)).some((identity) => !known.includes(identity))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`No worker polls ${taskQueue} after ${timeoutMs} ms`);
}

/**
 * The pieces `npm run dev` runs, started for one benchmark in a scratch directory (nothing of .data/ is touched):
 * embedded PostgreSQL with the migrations, the demo org and the restricted runtime login; the Temporal dev server
 * with a SQLite file (or, with `cluster`, the real server of dev/temporal-cluster.ts over mTLS); the mail sink and
 * the simulators (with their dev latency) in this process; the API and the worker as child processes, as
 * `npm run dev` starts them; and the bare baseline's worker (bench/bare) beside them on its own task queue.
 */
export async function startBenchStack(options: BenchStackOptions = {}): Promise<BenchStack> {
  const say = options.say ?? (() => undefined);
  const scratch = await mkdtemp(join(tmpdir(), 'opsflow-bench-'));
  await chmod(scratch, 0o755);
  // Outside the scratch directory, so a failed run leaves its processes' logs behind.
  const logDir = await mkdtemp(join(tmpdir(), 'opsflow-bench-logs-'));
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const s of stops.splice(0)) await s().catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  };
  try {
    say('starting PostgreSQL, Temporal, mail sink and simulators');
    const postgres = await startEmbeddedPostgres({ dataDir: join(scratch, 'postgres'), persistent: false, onLog: options.postgresLog });
    stops.unshift(() => postgres.stop());
    const databaseName = 'opsflow';
    const databaseUrl = await postgres.createDatabase(databaseName);
    await migrateDeploy(databaseUrl);
    const db = createDb(databaseUrl);
    await seedDemoOrg(db);
    const adminKey = (await createApiKey(db, { name: 'bench', personEmail: 'ops.desk@example.com', scopes: ['admin'] })).key;
    const approverKeys: Record<string, string> = {};
    for (const email of capexApprovers) approverKeys[email] = (await createApiKey(db, { name: 'bench', personEmail: email, scopes: ['decisions:write'] })).key;
    await db.$disconnect();
    const runtimeUrl = await ensureRuntimeLogin(databaseUrl, { user: DEFAULT_RUNTIME_LOGIN, password: randomBytes(18).toString('base64url') });
    const stats = new pg.Client({ connectionString: postgres.url('postgres') });
    await stats.connect();
    stops.unshift(() => stats.end());

    let temporalEnv: Record<string, string>;
    if (options.cluster) {
      say('starting the real Temporal server (dev/temporal-cluster.ts: PostgreSQL, 4 shards, mTLS)');
      const cluster = await startTemporalCluster({ dir: join(scratch, 'temporal-cluster') });
      stops.unshift(() => cluster.stop());
      temporalEnv = cluster.env;
    } else {
      const cli = await resolveTemporalCli(say);
      if (!cli) throw new Error('No Temporal CLI (see README, Quick start)');
      const server = await startTemporalDevServer({ cli, dbFilename: join(scratch, 'temporal.db'), headless: true });
      stops.unshift(() => server.stop());
      temporalEnv = { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' };
    }
    const temporal = await connectClient({ TEMPORAL_ADDRESS: temporalEnv.TEMPORAL_ADDRESS!, TEMPORAL_NAMESPACE: 'default' }, temporalEnv);
    stops.unshift(() => temporal.connection.close());

    const mail = await startMailSink({ smtpPort: 0, web: false });
    stops.unshift(() => mail.close());
    const simulators = await startSimulators({ port: 0 });
    stops.unshift(() => simulators.close());

    const opsflowTaskQueue = `opsflow-bench-${randomUUID().slice(0, 8)}`;
    const bareTaskQueue = `bare-bench-${randomUUID().slice(0, 8)}`;
    const apiPort = await freePort(0);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const baseEnv: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      DATABASE_URL: runtimeUrl,
      ...temporalEnv,
      TEMPORAL_TASK_QUEUE: opsflowTaskQueue,
      SMTP_URL: mail.smtpUrl,
      TOKEN_SECRETS: randomBytes(32).toString('base64url'),
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1,localhost,[::1]',
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      PUBLIC_BASE_URL: apiUrl,
      ...simulatorUrls(simulators.url),
      EVENT_SOURCE_SECRETS: `ats=whsec_${randomBytes(24).toString('base64')},erp=whsec_${randomBytes(24).toString('base64')}`,
      OPSFLOW_ALLOW_SHORT_DURATIONS: 'true',
    };
    // A stray WORKFLOW_BUNDLE_PATH or metrics port from the caller's shell must not change what is measured.
    for (const name of ['WORKFLOW_BUNDLE_PATH', 'WORKER_METRICS_PORT', 'TEMPORAL_SDK_METRICS_PORT']) delete baseEnv[name];

    const spawnChild = (name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess => {
      const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
      // BENCH_CPU_PROF_DIR: every child writes V8 CPU profiles into its own folder there when it stops, one per thread
      // (a worker's workflows run in a thread of their own); summarise one with bench/cpu-profile.ts.
      const profiling = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROF_DIR, name)}`] : [];
      const child = spawn(process.execPath, [...profiling, '--import', 'tsx', join(root, entry)], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      killOnExit(child);
      return child;
    };

    say('starting the API, the Opsflow worker and the bare worker');
    // Each process's connections carry its name, so PostgreSQL's statistics and log tell them apart.
    const named = (name: string) => {
      const url = new URL(runtimeUrl);
      url.searchParams.set('application_name', `opsflow-${name}`);
      return url.toString();
    };
    const workerSpecs = {
      opsflow: { name: 'worker', entry: 'worker/main.ts', env: { ...baseEnv, DATABASE_URL: named('worker'), ...options.workerEnv }, taskQueue: opsflowTaskQueue },
      bare: { name: 'bare-worker', entry: 'bench/bare/worker.ts', env: { ...baseEnv, BARE_TASK_QUEUE: bareTaskQueue, BARE_SMTP_POOL: String(options.bareSmtpPool === true) }, taskQueue: bareTaskQueue },
    };
    const workers = {
      opsflow: spawnChild(workerSpecs.opsflow.name, workerSpecs.opsflow.entry, workerSpecs.opsflow.env),
      bare: spawnChild(workerSpecs.bare.name, workerSpecs.bare.entry, workerSpecs.bare.env),
    };
    const api = spawnChild('api', 'api/server.ts', { ...baseEnv, DATABASE_URL: named('api') });
    stops.unshift(() => stopChild(workers.opsflow), () => stopChild(api), () => stopChild(workers.bare));
    const workerStarted = Date.now();
    await Promise.all([waitForPollers(temporal, opsflowTaskQueue), waitForPollers(temporal, bareTaskQueue), waitForHealthy(apiUrl, api, logDir)]);
    say(`stack ready (Opsflow worker polling after ${((Date.now() - workerStarted) / 1000).toFixed(1)} s)`);

    return {
      mode: options.cluster ? 'cluster' : 'dev-server',
      apiUrl,
      adminKey,
      approverKeys,
      temporal,
      mail,
      simulators,
      stats,
      databaseName,
      ownerDatabaseUrl: databaseUrl,
      opsflowTaskQueue,
      bareTaskQueue,
      workerPid: (side) => workers[side].pid!,
      logDir,
      async startUnpolledApi() {
        const port = await freePort(0);
        const taskQueue = `unpolled-${randomUUID().slice(0, 8)}`;
        const child = spawnChild('api-unpolled', 'api/server.ts', { ...baseEnv, API_PORT: String(port), TEMPORAL_TASK_QUEUE: taskQueue });
        stops.unshift(() => stopChild(child));
        const url = `http://127.0.0.1:${port}`;
        await waitForHealthy(url, child, logDir);
        return { url, taskQueue };
      },
      async restartWorker(side, env = {}) {
        const spec = workerSpecs[side];
        await stopChild(workers[side], 20_000);
        // Temporal forgets a poller about a minute after it stops polling: wait for a new process, not the old entry.
        const before = await pollerIdentities(temporal, spec.taskQueue);
        const began = Date.now();
        const child = spawnChild(spec.name, spec.entry, { ...spec.env, ...env });
        workers[side] = child;
        stops.unshift(() => stopChild(child));
        await waitForPollers(temporal, spec.taskQueue, 120_000, before);
        return { startedInMs: Date.now() - began };
      },
      stop,
    } as BenchStack;
  } catch (error) {
    say(`could not start the bench stack; logs were in ${logDir}`);
    await stop();
    throw error;
  }
}

async function waitForHealthy(url: string, child: ChildProcess, logDir: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`API exited with ${child.exitCode}: ${await readFile(join(logDir, 'api.log'), 'utf8').catch(() => '')}`);
    const ok = await fetch(`${url}/healthz`).then(() => true, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`API at ${url} not healthy after ${timeoutMs} ms`);
}
