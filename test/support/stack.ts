import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { basename } from 'node:path';
import { expect, inject } from 'vitest';
import type { DestinationStream } from 'pino';
import { createApp } from '../../api/app.js';
import type { FailureLimits } from '../../api/auth-failures.js';
import { seedDemoOrg } from '../../dev/demo-org.js';
import { startMailSink, type MailSink } from '../../dev/mail-sink.js';
import { startEventSweep, sweepEvents } from '../../api/event-routing.js';
import { sweepRunHealth } from '../../api/run-health-monitor.js';
import { createApiMetrics } from '../../lib/metrics.js';
import { simulatorUrls, slackSimulatorSettings, startSimulators, type Simulators } from '../../dev/simulators/server.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { createDb, type Db } from '../../lib/db.js';
import { withCredentials } from '../../lib/db-roles.js';
import { createEgressPolicy, type LookupFunction } from '../../lib/egress.js';
import { createLogger } from '../../lib/logger.js';
import { createOpsflowWorker, type OpsflowWorkerOptions } from '../../worker/worker.js';
import { connectClient } from '../../lib/temporal.js';
import { temporalClientInterceptors } from '../../lib/tracing.js';
import { freePort } from '../../dev/ports.js';
import { createApiKey } from '../../lib/api-keys.js';
import { useApiKey } from './http.js';
import { cloneTemplateDatabase } from './pg.js';
import { historiesOf, replayFailures, saveGoldenHistories } from './replay.js';
import type { Worker } from '@temporalio/worker';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningWorker {
  stop(): Promise<void>;
}

export interface Stack {
  apiUrl: string;
  /** An `admin` key acting as ops.desk@example.com; the HTTP helpers send it by default. */
  adminKey: string;
  /** Standard Webhooks secrets of the inbound event sources this stack accepts. */
  eventSecrets: { ats: string; erp: string; monitoring: string };
  /** Mints a key for a person in the directory with the given scopes. */
  createKey(email: string, scopes: string[]): Promise<string>;
  /** What the API and the worker run with; DATABASE_URL is the runtime login's (see runtimeDatabaseUrl). */
  config: Config;
  /** The owner's connection, for seeding and asserting: it may do what the API and worker may not. */
  db: Db;
  /** The restricted login (member of opsflow_runtime) the API and the worker connect with. */
  runtimeDatabaseUrl: string;
  temporal: Client;
  mail: MailSink;
  simulators: Simulators;
  taskQueue: string;
  /** Environment a worker process needs to join this stack. */
  workerEnv: NodeJS.ProcessEnv;
  /** An in-process worker: `config` overrides (e.g. a rotated TOKEN_SECRETS), wrapped activities or other workflow code. */
  startWorker(options?: WorkerStartOptions): Promise<RunningWorker>;
  /**
   * worker/main.ts as a child process (its real logger); `onOutput` gets everything it writes. `nodeArgs` replaces
   * `--import tsx worker/main.ts`, e.g. with the compiled `dist/worker/main.js`.
   */
  startWorkerProcess(options?: ChildProcessOptions & { onOutput?: (text: string) => void }): Promise<ChildProcess>;
  /** api/server.ts (or `nodeArgs`) as a child process on this stack's database, Temporal and task queue, on a free port; `onOutput` gets what it writes. */
  startApiProcess(options?: ChildProcessOptions & { onOutput?: (text: string) => void }): Promise<{ url: string; process: ChildProcess }>;
  /** One pass of the API's run health sweep (api/server.ts runs it on a timer), so a test need not wait for it. */
  sweepRunHealth(): ReturnType<typeof sweepRunHealth>;
  /** One pass of the API's event sweep (held and unanswered events), as the timer would run it. */
  sweepEvents(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One test file's Opsflow: its own database (cloned from the migrated template), task queue, SMTP sink, ERP
 * simulator, API on a free port and a worker, all on the shared PostgreSQL and Temporal servers.
 */
export interface StackOptions {
  worker?: 'in-process' | 'none';
  approvalRateLimitPerMinute?: number;
  decisionWaitMs?: number;
  /** WEBHOOK_ALLOWED_HOSTS; by default 127.0.0.1, where the tests' webhook receivers listen. */
  webhookAllowedHosts?: string;
  /** TOKEN_SECRETS, newest first; by default one random key. */
  tokenSecrets?: string[];
  /** TRUST_PROXY; by default unset (trust nobody). */
  trustProxy?: string;
  failedKeyCheckLimits?: FailureLimits;
  /** The level and destination of the real logger (lib/logger.ts) the API and in-process workers write to. */
  logLevel?: string;
  logDestination?: DestinationStream;
  /** DNS for webhook deliveries and subscribe-time checks (API and in-process workers). */
  egressLookup?: LookupFunction;
  /**
   * TEMPORAL_* connection variables (envconfig) of another Temporal than the shared dev server, e.g. a real
   * cluster over mTLS (dev/temporal-cluster.ts): the API, in-process workers and worker processes all use them.
   */
  temporalEnv?: Record<string, string>;
  /** OPSFLOW_ALLOW_SHORT_DURATIONS; by default on, so tests run reminders and SLAs of seconds. */
  allowShortDurations?: boolean;
  /** EVENT_HOLD_WINDOW (how long an event waits for its run to start); by default the production default. */
  eventHoldWindow?: string;
  /** Slack against the simulated workspace (SLACK_*): approval requests are posted there and clicks come back. */
  slack?: boolean;
  /** How often the API's event sweep runs (2 s by default); `manual`: only when the test calls `sweepEvents()`. */
  eventSweep?: number | 'manual';
}

export interface ChildProcessOptions {
  env?: NodeJS.ProcessEnv;
  nodeArgs?: string[];
}

export type WorkerStartOptions = Pick<OpsflowWorkerOptions, 'wrapActivities' | 'workflowsPath'> & { config?: Partial<Config> };

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const logger = createLogger('test', options.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'silent', options.logDestination);
  const databaseName = `opsflow_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const databaseUrl = await cloneTemplateDatabase(inject('pgServerUrl'), inject('templateDatabase'), databaseName);
  const mail = await startMailSink({ smtpPort: 0, httpPort: 0, web: false });
  const simulators = await startSimulators({ port: 0, latencyMs: [0, 0] });
  const taskQueue = `opsflow-test-${randomUUID()}`;

  const db = createDb(databaseUrl);
  // As in production: the API and the worker run as the restricted role, the tests look on as the owner.
  const runtimeDatabaseUrl = withCredentials(databaseUrl, inject('runtimeDbLogin'));
  const runtimeDb = createDb(runtimeDatabaseUrl);
  await seedDemoOrg(db);
  const createKey = async (email: string, scopes: string[]) => (await createApiKey(db, { name: 'test', personEmail: email, scopes })).key;
  const adminKey = await createKey('ops.desk@example.com', ['admin']);
  useApiKey(adminKey);
  const temporalAddress = options.temporalEnv?.TEMPORAL_ADDRESS ?? inject('temporalAddress');
  const temporal = options.temporalEnv
    ? await connectClient({ TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: 'default' }, options.temporalEnv)
    : new Client({ connection: await Connection.connect({ address: temporalAddress }), namespace: 'default', interceptors: temporalClientInterceptors() });
  const { connection } = temporal;

  const slackSettings = options.slack ? slackSimulatorSettings(simulators.url, randomBytes(16).toString('hex')) : {};
  const eventSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
  const eventSecrets = { ats: eventSecret(), erp: eventSecret(), monitoring: eventSecret() };
  let config = loadConfig({
    NODE_ENV: 'test',
    EVENT_SOURCE_SECRETS: Object.entries(eventSecrets).map(([source, secret]) => `${source}=${secret}`).join(','),
    DATABASE_URL: runtimeDatabaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    SMTP_URL: mail.smtpUrl,
    TOKEN_SECRETS: (options.tokenSecrets ?? [randomBytes(32).toString('base64url')]).join(','),
    WEBHOOK_ALLOWED_HOSTS: options.webhookAllowedHosts ?? '127.0.0.1',
    ...(options.trustProxy ? { TRUST_PROXY: options.trustProxy } : {}),
    ...simulatorUrls(simulators.url),
    ERP_TIMEOUT_MS: '5000',
    INTEGRATION_TIMEOUT_MS: '5000',
    // Tests run reminders and SLAs of seconds; production refuses this switch.
    OPSFLOW_ALLOW_SHORT_DURATIONS: String(options.allowShortDurations ?? true),
    ...(options.eventHoldWindow ? { EVENT_HOLD_WINDOW: options.eventHoldWindow } : {}),
    ...slackSettings,
  });
  const metrics = createApiMetrics();
  const server: Server = await new Promise((resolve) => {
    const egress = options.egressLookup ? createEgressPolicy({ allowedHosts: config.WEBHOOK_ALLOWED_HOSTS, lookup: options.egressLookup }) : undefined;
    const app = createApp(
      { db: runtimeDb, temporal, config, logger, metrics, decisionWaitMs: options.decisionWaitMs, egress },
      { approvalRateLimitPerMinute: options.approvalRateLimitPerMinute, failedKeyCheckLimits: options.failedKeyCheckLimits },
    );
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  simulators.ats.sendEventsTo({ url: `${apiUrl}/events/ats`, secret: eventSecrets.ats });
  if (config.SLACK_SIGNING_SECRET) simulators.slack.sendInteractionsTo({ url: `${apiUrl}/integrations/slack/interactions`, signingSecret: config.SLACK_SIGNING_SECRET });
  // As api/server.ts does: events a run did not take in time are routed again by the sweep.
  const eventSweepEveryMs = options.eventSweep ?? 2_000;
  const eventSweep = eventSweepEveryMs === 'manual' ? undefined : startEventSweep({ db: runtimeDb, temporal, config, logger }, eventSweepEveryMs);
  config = { ...config, PUBLIC_BASE_URL: apiUrl };

  const workerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    // Info at least, because startWorkerProcess waits for the "worker started" line.
    LOG_LEVEL: options.logLevel ?? process.env.TEST_LOG_LEVEL ?? 'info',
    DATABASE_URL: runtimeDatabaseUrl,
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: taskQueue,
    SMTP_URL: config.SMTP_URL,
    TOKEN_SECRETS: config.TOKEN_SECRETS.join(','),
    WEBHOOK_ALLOWED_HOSTS: options.webhookAllowedHosts ?? '127.0.0.1',
    ...simulatorUrls(simulators.url),
    ERP_TIMEOUT_MS: String(config.ERP_TIMEOUT_MS),
    INTEGRATION_TIMEOUT_MS: String(config.INTEGRATION_TIMEOUT_MS),
    OPSFLOW_ALLOW_SHORT_DURATIONS: String(config.OPSFLOW_ALLOW_SHORT_DURATIONS),
    // The digest Schedule is namespace-wide and hourly: a test that needs one creates its own (test/e2e/digest).
    APPROVER_DIGEST_SCHEDULE: 'false',
    ...(options.eventHoldWindow ? { EVENT_HOLD_WINDOW: options.eventHoldWindow } : {}),
    PUBLIC_BASE_URL: apiUrl,
    ...slackSettings,
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    EVENT_SOURCE_SECRETS: Object.entries(eventSecrets).map(([source, secret]) => `${source}=${secret}`).join(','),
    ...options.temporalEnv,
  };

  const stoppers: Array<() => Promise<unknown>> = [];

  async function startWorker({ config: configOverrides = {}, ...workerOptions }: WorkerStartOptions = {}): Promise<RunningWorker> {
    const { worker, deps, connection: workerConnection } = await createOpsflowWorker({
      config: { ...config, ...configOverrides },
      logger,
      workflowBundlePath: inject('workflowBundlePath'),
      egressLookup: options.egressLookup,
      ...(options.temporalEnv ? { temporalEnv: options.temporalEnv } : {}),
      ...workerOptions,
    });
    const running = worker.run();
    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await workerConnection.close();
        await deps.close();
      })());
    stoppers.unshift(stop);
    return { stop };
  }

  async function startWorkerProcess(processOptions: ChildProcessOptions & { onOutput?: (text: string) => void } = {}): Promise<ChildProcess> {
    const env = { ...workerEnv, ...processOptions.env };
    const child = spawn(process.execPath, processOptions.nodeArgs ?? ['--import', 'tsx', 'worker/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        if (chunk.toString().includes('worker started')) resolve();
      };
      if (processOptions.onOutput) {
        const forward = (chunk: Buffer) => processOptions.onOutput!(chunk.toString());
        child.stdout?.on('data', forward);
        child.stderr?.on('data', forward);
      }
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => process.env.TEST_LOG_LEVEL && process.stderr.write(chunk));
      child.stdout?.on('data', (chunk: Buffer) => process.env.TEST_LOG_LEVEL && process.stdout.write(chunk));
      child.once('exit', (code) => reject(new Error(`worker process exited early with ${code}`)));
    });
    stoppers.unshift(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    });
    await ready;
    return child;
  }

  /** Spawns an entry point with this stack's environment and waits for the log line that says it is ready. */
  async function startChildProcess(nodeArgs: string[], env: NodeJS.ProcessEnv, readyLine: string, onOutput?: (text: string) => void): Promise<ChildProcess> {
    const entry = nodeArgs.at(-1);
    const child = spawn(process.execPath, nodeArgs, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    // The end of what it printed, for a process that dies on its own after it was ready (a test then sees only a
    // refused connection).
    let lastOutput = '';
    let stopping = false;
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes(readyLine)) resolve();
      });
      for (const stream of [child.stdout, child.stderr]) {
        stream?.on('data', (chunk: Buffer) => {
          lastOutput = (lastOutput + chunk.toString()).slice(-4_000);
          onOutput?.(chunk.toString());
          if (process.env.TEST_LOG_LEVEL) process.stderr.write(chunk);
        });
      }
      child.once('exit', (code, signal) => {
        reject(new Error(`${entry} exited early with ${code}`));
        if (!stopping && signal !== 'SIGKILL') console.error(`[stack] ${entry} exited with ${code ?? signal}; its last output:\n${lastOutput}`);
      });
    });
    stoppers.unshift(async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    });
    await ready;
    return child;
  }

  async function startApiProcess(processOptions: ChildProcessOptions & { onOutput?: (text: string) => void } = {}): Promise<{ url: string; process: ChildProcess }> {
    const port = await freePort(0);
    const nodeArgs = processOptions.nodeArgs ?? ['--import', 'tsx', 'api/server.ts'];
    const child = await startChildProcess(nodeArgs, { ...workerEnv, API_HOST: '127.0.0.1', API_PORT: String(port), ...processOptions.env }, 'api listening', processOptions.onOutput);
    return { url: `http://127.0.0.1:${port}`, process: child };
  }

  /**
   * Every test file replays the histories its runs produced against the current bundle, so a workflow that is not
   * deterministic fails the file that exercised it. With CAPTURE_HISTORIES=1 (npm run histories:capture) they are
   * also written as golden histories, named after the test file.
   */
  const scenario = basename(expect.getState().testPath ?? 'stack').replace(/\.test\.ts$/, '');
  async function replayWhatRan(): Promise<void> {
    const histories = await historiesOf(temporal, taskQueue);
    const failures = await replayFailures(inject('workflowBundlePath'), histories);
    if (failures.length) throw new Error(`Runs of ${scenario} do not replay against the current workflow code:\n  ${failures.join('\n  ')}`);
    if (process.env.CAPTURE_HISTORIES === '1') await saveGoldenHistories(scenario, histories);
  }

  if (options.worker !== 'none') await startWorker();

  return {
    apiUrl,
    adminKey,
    createKey,
    eventSecrets,
    config,
    db,
    runtimeDatabaseUrl,
    temporal,
    mail,
    simulators,
    taskQueue,
    workerEnv,
    startWorker,
    startWorkerProcess,
    startApiProcess,
    sweepRunHealth: () => sweepRunHealth({ db: runtimeDb, temporal, logger, metrics }),
    // Events received before this call are not "older than" the timer's interval: a manual pass takes them all.
    sweepEvents: () => sweepEvents({ db: runtimeDb, temporal, config, logger }, 0),
    async stop() {
      if (eventSweep) clearInterval(eventSweep);
      for (const stop of stoppers) await stop();
      await replayWhatRan();
      await new Promise((resolve) => server.close(resolve));
      await connection.close();
      await runtimeDb.$disconnect();
      await db.$disconnect();
      await mail.close();
      await simulators.close();
    },
  };
}

export type { Worker };

/** Ends every workflow a worker-less test started, so nothing lingers on the shared Temporal server. */
export async function terminateRuns(stack: Stack): Promise<void> {
  const { WorkflowNotFoundError } = await import('@temporalio/client');
  for (const run of await stack.db.run.findMany({ select: { id: true } })) {
    try {
      await stack.temporal.workflow.getHandle(run.id).terminate('test cleanup');
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
}
