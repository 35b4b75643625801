import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { seedDemoOrg } from '../../dev/demo-org.js';
import type { CapturedMail } from '../../dev/mail-sink.js';
import { migrateDeploy } from '../../dev/migrate.js';
import { freePort } from '../../dev/ports.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../dev/postgres.js';
import { simulatorUrls, startSimulators, type Simulators } from '../../dev/simulators/server.js';
import { resolveTemporalCli } from '../../dev/temporal-cli.js';
import { startTemporalDevServer, type TemporalDevServer } from '../../dev/temporal-server.js';
import { createApiKey } from '../../lib/api-keys.js';
import { createDb, type Db } from '../../lib/db.js';
import { DEFAULT_RUNTIME_LOGIN, ensureRuntimeLogin } from '../../lib/db-roles.js';
import { historiesOf, replayFailures } from './replay.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const TASK_QUEUE = 'opsflow-faults';

/** A piece of the stack that runs as its own process: killed for real, restarted on the same port and state. */
export interface Piece {
  readonly name: string;
  /** SIGKILL (PostgreSQL: SIGQUIT, its immediate shutdown: a crash with recovery at the next start), then exit. */
  kill(): Promise<void>;
  /** Starts it again; resolves when it serves (the worker: when it has connected, unless `waitUntilReady` is false). */
  start(options?: { waitUntilReady?: boolean }): Promise<void>;
  readonly running: boolean;
}

export interface FaultStack {
  apiUrl: string;
  adminKey: string;
  /** The owner's connection to this stack's own PostgreSQL (fails while it is down). */
  db: () => Db;
  temporal: () => Promise<Client>;
  simulators: Simulators;
  /** Every mail the SMTP listener stored (read from its store file, so also while it is down). */
  mails(): CapturedMail[];
  /** Output of every process, for a failure message. */
  output(piece: string): string;
  pieces: { temporal: Piece; postgres: Piece; smtp: Piece; worker: Piece; api: Piece };
  stop(): Promise<void>;
}

interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  readyLine: RegExp;
  output: string[];
}

/** Spawns a child and waits for its ready line (or its exit, which fails the start with its output). */
async function spawnChild(options: ChildOptions, waitUntilReady = true): Promise<ChildProcess> {
  const child = spawn(options.command, options.args, { cwd: root, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      options.output.push(text);
      if (options.output.length > 400) options.output.splice(0, 100);
      if (process.env.TEST_LOG_LEVEL) process.stderr.write(`[${options.name}] ${text}`);
      seen = (seen + text).slice(-10_000);
      if (options.readyLine.test(seen)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`${options.name} exited before it was ready (${signal ?? code}):\n${options.output.join('').slice(-3000)}`)));
  });
  if (waitUntilReady) await ready;
  else ready.catch(() => {});
  return child;
}

async function killChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

function childPiece(options: ChildOptions): Piece {
  let child: ChildProcess | undefined;
  return {
    name: options.name,
    get running() {
      return !!child && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      await killChild(child);
    },
    async start({ waitUntilReady = true } = {}) {
      child = await spawnChild(options, waitUntilReady);
    },
  };
}

/**
 * Opsflow as separate processes, each of which a test may kill and restart on the same port with the same state:
 * its own PostgreSQL (embedded, data kept), its own Temporal dev server (SQLite file), the SMTP listener
 * (dev/mail-sink.ts, storing before it acknowledges), the worker (worker/main.ts) and the API (api/server.ts).
 * The ERP and the other simulators run in the test process. Nothing is shared with other test files.
 */
export async function startFaultStack(settings: { apiEnv?: NodeJS.ProcessEnv } = {}): Promise<FaultStack> {
  const scratch = await mkdtemp(join(tmpdir(), 'opsflow-faults-'));
  // As root, PostgreSQL runs as its own system user, which must reach its data directory.
  await chmod(scratch, 0o755);
  const cleanups: Array<() => Promise<unknown>> = [];
  const outputs: Record<string, string[]> = { temporal: [], postgres: [], smtp: [], worker: [], api: [] };

  // PostgreSQL
  const pgDir = join(scratch, 'postgres');
  let pg: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir: pgDir, persistent: true });
  const pgPort = Number(new URL(pg.serverUrl).port);
  const ownerUrl = await pg.createDatabase('opsflow');
  await migrateDeploy(ownerUrl);
  const runtimeUrl = await ensureRuntimeLogin(ownerUrl, { user: DEFAULT_RUNTIME_LOGIN, password: randomBytes(24).toString('base64url') });
  let ownerDb = createDb(ownerUrl);
  await seedDemoOrg(ownerDb);
  const adminKey = (await createApiKey(ownerDb, { name: 'faults', personEmail: 'ops.desk@example.com', scopes: ['admin'] })).key;
  let pgRunning = true;
  const postgres: Piece = {
    name: 'postgres',
    get running() {
      return pgRunning;
    },
    async kill() {
      await ownerDb.$disconnect().catch(() => {});
      await killChild(pg.process, 'SIGQUIT');
      pgRunning = false;
    },
    async start() {
      pg = await startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, persistent: true });
      if (Number(new URL(pg.serverUrl).port) !== pgPort) throw new Error(`PostgreSQL came back on another port than ${pgPort}`);
      ownerDb = createDb(ownerUrl);
      pgRunning = true;
    },
  };
  cleanups.push(async () => {
    await ownerDb.$disconnect().catch(() => {});
    if (pgRunning) await pg.stop();
  });

  // Temporal
  const cli = await resolveTemporalCli(() => {});
  if (!cli) throw new Error('No Temporal CLI (npm run temporal:install)');
  const temporalDb = join(scratch, 'temporal.db');
  let temporalServer: TemporalDevServer = await startTemporalDevServer({ cli, headless: true, dbFilename: temporalDb, onOutput: (line) => outputs.temporal!.push(line) });
  const temporalPort = Number(temporalServer.address.split(':')[1]);
  const temporal: Piece = {
    name: 'temporal',
    get running() {
      return temporalServer.process.exitCode === null && temporalServer.process.signalCode === null;
    },
    kill: () => killChild(temporalServer.process),
    async start() {
      temporalServer = await startTemporalDevServer({ cli, headless: true, dbFilename: temporalDb, port: temporalPort, onOutput: (line) => outputs.temporal!.push(line) });
      if (temporalServer.address !== `127.0.0.1:${temporalPort}`) throw new Error(`Temporal came back on ${temporalServer.address}, not port ${temporalPort}`);
    },
  };
  cleanups.push(() => temporalServer.stop());
  let temporalClient: Client | undefined;
  cleanups.push(async () => temporalClient?.connection.close());

  // SMTP listener
  const [smtpPort, mailWebPort, apiPort] = [await freePort(0), await freePort(0), await freePort(0)];
  const mailStore = join(scratch, 'mail.json');
  const smtp = childPiece({
    name: 'smtp',
    command: process.execPath,
    args: ['--import', 'tsx', 'dev/mail-sink.ts'],
    env: { ...process.env, SMTP_PORT: String(smtpPort), MAIL_WEB_PORT: String(mailWebPort), MAIL_STORE_FILE: mailStore, MAIL_STRICT_PORTS: '1' },
    readyLine: /SMTP smtp:\/\//,
    output: outputs.smtp!,
  });
  await smtp.start();
  cleanups.push(() => smtp.kill());

  const simulators = await startSimulators({ port: 0, latencyMs: [0, 0] });
  cleanups.push(() => simulators.close());

  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: runtimeUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    TOKEN_SECRETS: randomBytes(32).toString('base64url'),
    ...simulatorUrls(simulators.url),
    ERP_TIMEOUT_MS: '5000',
    INTEGRATION_TIMEOUT_MS: '5000',
    OPSFLOW_ALLOW_SHORT_DURATIONS: 'true',
    PUBLIC_BASE_URL: apiUrl,
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    API_HOST: '127.0.0.1',
    API_PORT: String(apiPort),
    RUN_HEALTH_SWEEP_MS: '5000',
  };
  const worker = childPiece({ name: 'worker', command: process.execPath, args: ['--import', 'tsx', 'worker/main.ts'], env, readyLine: /worker started/, output: outputs.worker! });
  const api = childPiece({ name: 'api', command: process.execPath, args: ['--import', 'tsx', 'api/server.ts'], env: { ...env, ...settings.apiEnv }, readyLine: /api listening/, output: outputs.api! });
  await Promise.all([worker.start(), api.start()]);
  cleanups.push(() => worker.kill(), () => api.kill());

  const client = async () => (temporalClient ??= new Client({ connection: await Connection.connect({ address: `127.0.0.1:${temporalPort}` }) }));
  return {
    apiUrl,
    adminKey,
    db: () => ownerDb,
    temporal: client,
    simulators,
    mails() {
      if (!existsSync(mailStore)) return [];
      // The sink runs in its own process and keeps its mail as JSON: dates come back as strings.
      const stored = JSON.parse(readFileSync(mailStore, 'utf8')) as Array<Omit<CapturedMail, 'receivedAt'> & { receivedAt: string }>;
      return stored.map((mail) => ({ ...mail, receivedAt: new Date(mail.receivedAt) }));
    },
    output: (piece) => (outputs[piece] ?? []).join('').slice(-4000),
    pieces: { temporal, postgres, smtp, worker, api },
    async stop() {
      // As every stack test does: the runs made here replay against the current workflow code.
      let replayProblem: Error | undefined;
      if (temporal.running) {
        const histories = await historiesOf(await client(), TASK_QUEUE);
        const failures = await replayFailures(inject('workflowBundlePath'), histories);
        if (failures.length) replayProblem = new Error(`Fault-suite runs do not replay against the current workflow code:\n  ${failures.join('\n  ')}`);
      }
      for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.warn(`fault stack cleanup: ${(error as Error).message}`));
      await rm(scratch, { recursive: true, force: true });
      if (replayProblem) throw replayProblem;
    },
  };
}
