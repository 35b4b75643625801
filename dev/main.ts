import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiKey } from '../lib/api-keys.js';
import { createDb, type Db } from '../lib/db.js';
import { DEFAULT_RUNTIME_LOGIN, ensureRuntimeLogin } from '../lib/db-roles.js';
import { seedDemoOrg } from './demo-org.js';
import { startMailSink } from './mail-sink.js';
import { migrateDeploy } from './migrate.js';
import { freePort } from './ports.js';
import { startEmbeddedPostgres } from './postgres.js';
import { simulatorUrls, slackSimulatorSettings, startSimulators } from './simulators/server.js';
import { resolveTemporalCli } from './temporal-cli.js';
import { startTemporalDevServer } from './temporal-server.js';
import { startTemporalCluster } from './temporal-cluster.js';

/**
 * `npm run dev`: the whole engine on embedded defaults, state under .data/ so a second start reuses it.
 * DATABASE_URL, TEMPORAL_ADDRESS and SMTP_URL each replace the embedded piece with a real one. Migrations run as
 * the database owner; the API and the worker run as the restricted runtime login (RUNTIME_DATABASE_URL, if set).
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = join(root, '.data');
const say = (line: string) => console.log(`[opsflow] ${line}`);
/** Stopped in reverse order of start: API and worker first, PostgreSQL last. */
const stops: Array<() => Promise<unknown>> = [];

interface DevSecrets {
  tokenSecret: string;
  /** An admin API key for the local Ops Desk, minted on first start. */
  apiKey?: string;
  /** Standard Webhooks secrets of the inbound event sources (ats, erp, monitoring). */
  eventSecrets?: Record<string, string>;
  /** The signing secret the simulated Slack workspace signs clicks with. */
  slackSigningSecret?: string;
  /** The password of the runtime database login (opsflow_app) the API and the worker connect with. */
  runtimeDbPassword?: string;
}

async function devSecrets(): Promise<DevSecrets> {
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as DevSecrets;
  return { tokenSecret: randomBytes(32).toString('base64url') };
}

async function saveDevSecrets(secrets: DevSecrets): Promise<void> {
  const file = join(dataDir, 'dev-secrets.json');
  await writeFile(`${file}.tmp`, JSON.stringify(secrets), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** The key printed in the banner: created once per database, kept with the other dev secrets. */
async function devApiKey(db: Db, secrets: DevSecrets): Promise<string> {
  const id = secrets.apiKey?.split('_')[1];
  if (secrets.apiKey && id && (await db.apiKey.findUnique({ where: { id } }))) return secrets.apiKey;
  const { key } = await createApiKey(db, { name: 'npm run dev (Ops Desk)', personEmail: 'ops.desk@example.com', scopes: ['admin'] });
  return key;
}

/** The variables a user set, which win over the simulator defaults. */
function pick(env: NodeJS.ProcessEnv, pattern: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => pattern.test(entry[0]) && entry[1] !== undefined));
}

/**
 * Approved suppliers are screened again every year: the dev stack has that schedule from the start, as a company
 * would set it up once (see README, Processes). It is an ordinary schedule: pause or delete it over the API.
 */
async function ensureYearlyRescreening(apiUrl: string, apiKey: string): Promise<void> {
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  for (let attempt = 0; attempt < 120; attempt++) {
    const healthy = await fetch(`${apiUrl}/healthz`).then((r) => r.ok, () => false);
    if (healthy) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    const existing = await fetch(`${apiUrl}/schedules/annual-supplier-rescreening`, { headers });
    if (existing.status !== 404) return;
    const created = await fetch(`${apiUrl}/schedules`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ id: 'annual-supplier-rescreening', process: 'supplier-rescreening', input: {}, cron: '0 6 15 1 *', timezone: 'Europe/Berlin', note: 'Yearly sanctions re-screening of every active supplier' }),
    });
    if (created.ok) say('created the schedule annual-supplier-rescreening (15 January, 06:00 Berlin)');
    else say(`could not create the re-screening schedule: ${created.status} ${await created.text()}`);
  } catch (error) {
    say(`could not create the re-screening schedule: ${(error as Error).message}`);
  }
}

/**
 * What the API and the worker connect with: a login in opsflow_runtime, which may append to the audit log but not
 * change it. RUNTIME_DATABASE_URL wins. Otherwise the login is created with the owner's connection; on the
 * embedded database that always works, on a DATABASE_URL of the user's it works if that user may create roles.
 */
async function runtimeDatabaseUrl(ownerUrl: string, secrets: DevSecrets): Promise<string> {
  if (process.env.RUNTIME_DATABASE_URL) return process.env.RUNTIME_DATABASE_URL;
  secrets.runtimeDbPassword ??= randomBytes(24).toString('base64url');
  try {
    return await ensureRuntimeLogin(ownerUrl, { user: DEFAULT_RUNTIME_LOGIN, password: secrets.runtimeDbPassword });
  } catch (error) {
    if (!process.env.DATABASE_URL) throw error;
    say(
      `WARNING: could not create the runtime login ${DEFAULT_RUNTIME_LOGIN} with DATABASE_URL's user (${(error as Error).message}). ` +
        'The API and the worker run as that user, which can change and delete audit entries. ' +
        'Set RUNTIME_DATABASE_URL to a login that is a member of opsflow_runtime (README, Audit evidence).',
    );
    return ownerUrl;
  }
}

async function database(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  say('starting embedded PostgreSQL (data in .data/postgres)');
  const pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), port: 5433 });
  stops.unshift(() => pg.stop());
  return pg.createDatabase('opsflow');
}

async function temporal(): Promise<{ address: string; uiUrl?: string; env?: Record<string, string> }> {
  if (process.env.TEMPORAL_ADDRESS) return { address: process.env.TEMPORAL_ADDRESS };
  if (process.argv.includes('--cluster') || process.env.OPSFLOW_TEMPORAL === 'server') {
    // The real server (PostgreSQL, 4 shards, mTLS), as in production; its state stays in .data/temporal-cluster.
    say('starting the real Temporal server (not start-dev): PostgreSQL, 4 history shards, mTLS frontend');
    const cluster = await startTemporalCluster({ dir: join(dataDir, 'temporal-cluster'), persistent: true, onOutput: (line) => /"level":"(error|fatal)"/.test(line) && say(line) });
    stops.unshift(() => cluster.stop());
    say(`Temporal cluster at ${cluster.address}; connect the CLI with TEMPORAL_CONFIG_FILE=${cluster.tomlPath} TEMPORAL_PROFILE=cluster`);
    return { address: cluster.address, env: cluster.env };
  }
  const cli = await resolveTemporalCli(say);
  if (!cli) {
    throw new Error(
      'No Temporal CLI: set TEMPORAL_CLI_PATH, put `temporal` on PATH, install Go (we build it once), or set TEMPORAL_ADDRESS',
    );
  }
  say(`starting the Temporal dev server (${cli.path}, state in .data/temporal.db)`);
  const server = await startTemporalDevServer({ cli, dbFilename: join(dataDir, 'temporal.db'), port: 7233, uiPort: 8233 });
  stops.unshift(() => server.stop());
  return server;
}

function startChild(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, entry)], { cwd: root, env, stdio: 'inherit' });
  process.once('exit', () => child.kill('SIGKILL'));
  child.on('exit', (code, signal) => {
    if (!shuttingDown) {
      say(`${name} exited (${signal ?? code}); stopping everything`);
      void shutdown(1);
    }
  });
  stops.unshift(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  );
  return child;
}

let shuttingDown = false;
async function shutdown(code: number): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  say('stopping...');
  for (const stop of stops) await stop().catch((error: Error) => say(`while stopping: ${error.message}`));
  process.exit(code);
}

async function main(): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  const databaseUrl = await database();
  say('applying migrations (prisma migrate deploy)');
  await migrateDeploy(databaseUrl);
  const db = createDb(databaseUrl);
  const seeded = await seedDemoOrg(db);
  if (seeded) say(`seeded the demo org (${seeded} people)`);
  const secrets = await devSecrets();
  secrets.apiKey = await devApiKey(db, secrets);
  const runtimeUrl = await runtimeDatabaseUrl(databaseUrl, secrets);
  if (runtimeUrl !== databaseUrl) say(`the API and the worker connect as ${decodeURIComponent(new URL(runtimeUrl).username)} (no UPDATE or DELETE on the audit log)`);
  await saveDevSecrets(secrets);
  await db.$disconnect();

  const { address, uiUrl, env: temporalEnv } = await temporal();

  let smtpUrl: string = process.env.SMTP_URL ?? '';
  let mailWebUrl: string | undefined;
  if (!smtpUrl) {
    // The usual ports when free, else any (the listeners fall back themselves: no probe that another process can beat).
    const sink = await startMailSink({
      smtpPort: 1025,
      httpPort: 8025,
      storeFile: join(dataDir, 'mail.json'),
    });
    stops.unshift(() => sink.close());
    smtpUrl = sink.smtpUrl;
    mailWebUrl = sink.webUrl;
  }

  const simulators = await startSimulators({ port: 4100, storeFile: join(dataDir, 'simulators.json') });
  stops.unshift(() => simulators.close());

  const apiPort = await freePort(Number(process.env.API_PORT ?? 4000));
  const publicBaseUrl = process.env.PUBLIC_BASE_URL ?? `http://localhost:${apiPort}`;
  const eventSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
  // Sources added since the file was written get a secret of their own; the ones it has keep theirs.
  secrets.eventSecrets = { ats: eventSecret(), erp: eventSecret(), monitoring: eventSecret(), ...secrets.eventSecrets };
  await saveDevSecrets(secrets);
  // The simulated ATS tells the engine about accepted and withdrawn offers, signed like the real one would.
  simulators.ats.sendEventsTo({ url: `http://127.0.0.1:${apiPort}/events/ats`, secret: secrets.eventSecrets.ats! });
  // Slack against the simulated workspace unless the user set a real one (SLACK_BOT_TOKEN); its clicks come back signed.
  secrets.slackSigningSecret ??= randomBytes(16).toString('hex');
  await saveDevSecrets(secrets);
  const slack = process.env.SLACK_BOT_TOKEN ? pick(process.env, /^SLACK_/) : slackSimulatorSettings(simulators.url, secrets.slackSigningSecret);
  if (!process.env.SLACK_BOT_TOKEN) simulators.slack.sendInteractionsTo({ url: `http://127.0.0.1:${apiPort}/integrations/slack/interactions`, signingSecret: secrets.slackSigningSecret });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: process.env.NODE_ENV ?? 'development',
    LOG_FORMAT: process.env.LOG_FORMAT ?? 'pretty',
    DATABASE_URL: runtimeUrl,
    TEMPORAL_ADDRESS: address,
    ...temporalEnv,
    SMTP_URL: smtpUrl,
    TOKEN_SECRETS: process.env.TOKEN_SECRETS ?? process.env.TOKEN_SECRET ?? secrets.tokenSecret,
    // Local receivers (a webhook test server on this machine) are reachable in dev; production allows public hosts only.
    WEBHOOK_ALLOWED_HOSTS: process.env.WEBHOOK_ALLOWED_HOSTS ?? '127.0.0.1,localhost,[::1]',
    API_PORT: String(apiPort),
    PUBLIC_BASE_URL: publicBaseUrl,
    ...simulatorUrls(simulators.url),
    ...pick(process.env, /_BASE_URL$/),
    ...slack,
    EVENT_SOURCE_SECRETS:
      process.env.EVENT_SOURCE_SECRETS ?? Object.entries(secrets.eventSecrets).map(([source, secret]) => `${source}=${secret}`).join(','),
    // Preferred ports: the worker binds them itself and takes any free one when another process holds them.
    WORKER_METRICS_PORT: process.env.WORKER_METRICS_PORT ?? '9464',
    TEMPORAL_SDK_METRICS_PORT: process.env.TEMPORAL_SDK_METRICS_PORT ?? '9465',
    // Demos (npm run seed:demo) run reminders and SLAs of seconds; production refuses this switch.
    OPSFLOW_ALLOW_SHORT_DURATIONS: process.env.OPSFLOW_ALLOW_SHORT_DURATIONS ?? (process.env.NODE_ENV === 'production' ? 'false' : 'true'),
  };
  // Tools such as `npm run seed:demo` find the running stack here (databaseUrl is the owner's: they seed and measure).
  await writeFile(
    join(dataDir, 'dev-state.json'),
    JSON.stringify({ apiUrl: publicBaseUrl, databaseUrl, temporalAddress: address, mailUrl: mailWebUrl ?? null }),
    { mode: 0o600 },
  );
  startChild('worker', 'worker/main.ts', env);
  startChild('api', 'api/server.ts', env);
  void ensureYearlyRescreening(`http://127.0.0.1:${apiPort}`, secrets.apiKey!);

  const lines = [
    '',
    'Opsflow is running. Ctrl-C stops everything; the next start reuses .data/.',
    `  API            ${publicBaseUrl}   (docs: ${publicBaseUrl}/docs)`,
    `  Temporal UI    ${uiUrl ?? '(external cluster: ' + address + ')'}`,
    `  Mail           ${mailWebUrl ?? '(sent through ' + smtpUrl.replace(/\/\/[^@]*@/, '//***@') + ')'}`,
    `  Simulators     ${simulators.url}/{erp,hris,ats,screening,esign,it}   (ERP, HRIS, ATS, screening, e-signature, IT)`,
    `  Slack          ${process.env.SLACK_BOT_TOKEN ? slack.SLACK_API_URL ?? 'https://slack.com/api/' : `${simulators.url}/slack/_control/messages (simulated workspace: POST /slack/_control/click {user,ts,action} clicks)`}`,
    `  Event secrets  .data/dev-secrets.json (POST /events/ats, /events/erp and /events/monitoring are signed with them)`,
    `  Metrics        ${publicBaseUrl}/metrics (API), http://127.0.0.1:${env.WORKER_METRICS_PORT}/metrics (worker), http://127.0.0.1:${env.TEMPORAL_SDK_METRICS_PORT}/metrics (Temporal SDK); the worker logs other ports if these were taken`,
    `  API key        ${secrets.apiKey}   (admin, acts as ops.desk@example.com; kept in .data/dev-secrets.json)`,
    '',
    'Try a capex request (the approval e-mail appears on the mail page):',
    `  curl -s -X POST ${publicBaseUrl}/runs -H 'authorization: Bearer ${secrets.apiKey}' -H 'content-type: application/json' -d '{"process":"capex","input":{"title":"Laser cutter","amount":25000,"currency":"EUR","costCenter":"OPS-100","category":"equipment","vendor":"Trumpf","justification":"Replaces the 2009 cutter that fails weekly","requester":{"name":"Alex Rivera","email":"alex.rivera@example.com"}}}'`,
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch(async (error: Error) => {
  console.error(`[opsflow] could not start: ${error.message}`);
  await shutdown(1);
});
