import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import Long from 'long';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './postgres.js';
import { freePort, freePortBelow32768 } from './ports.js';
import { goBinDir, onPath } from './temporal-cli.js';
import { ensureSearchAttributes, stopChild, waitUntilServing } from './temporal-server.js';

const run = promisify(execFile);

/**
 * The real Temporal server (not start-dev): the four services in one process on PostgreSQL (persistence and SQL
 * visibility in their own databases, schemas applied with Temporal's schema tool), several history shards, and
 * its frontend served over mTLS with certificates generated here. Used by `npm run dev -- --cluster`, the
 * cluster tests and anyone who wants to see Opsflow on the engine it runs on in production.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';

export interface ClusterCertificates {
  dir: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
  /** Signed by a CA the cluster does not trust: a client presenting it must be refused. */
  strangerCert: string;
  strangerKey: string;
  serverName: string;
}

export interface TemporalCluster {
  address: string;
  namespace: string;
  certificates: ClusterCertificates;
  /** TEMPORAL_* variables (envconfig) with which the API, the worker and the CLI reach this cluster over mTLS. */
  env: Record<string, string>;
  /** The same as a temporal.toml profile named `cluster`. */
  tomlPath: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface TemporalClusterOptions {
  /** Where config, certificates, logs and (unless given one) PostgreSQL live. */
  dir: string;
  postgres?: EmbeddedDatabase;
  /** Keep the cluster's own PostgreSQL data between starts (npm run dev); tests start from nothing. */
  persistent?: boolean;
  historyShards?: number;
  onOutput?: (line: string) => void;
}

/** One of the two binaries the cluster needs, the names it goes by, and the setting that points at a build of it. */
interface ServerBinary {
  pkg: string;
  /** What Temporal's release archives and images call it. */
  releaseName: string;
  /** What `go install` calls it: the package's last element. */
  goInstallName: string;
  envVar: string;
}

const SERVER_BINARIES = {
  server: { pkg: 'go.temporal.io/server/cmd/server', releaseName: 'temporal-server', goInstallName: 'server', envVar: 'TEMPORAL_SERVER_PATH' },
  sqlTool: { pkg: 'go.temporal.io/server/cmd/tools/sql', releaseName: 'temporal-sql-tool', goInstallName: 'sql', envVar: 'TEMPORAL_SQL_TOOL_PATH' },
} satisfies Record<string, ServerBinary>;

/** What `<binary> --version` says (`temporal version 1.29.1`, `temporal-sql-tool version 1.29.1`), or why it says nothing. */
export async function binaryVersion(path: string): Promise<{ version: string } | { problem: string }> {
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 20_000 });
    const version = /\bversion v?(\d+\.\d+\.\d+\S*)/.exec(stdout)?.[1];
    return version ? { version: `v${version}` } : { problem: `\`${path} --version\` printed no version: ${stdout.trim().slice(0, 120)}` };
  } catch (error) {
    return { problem: `\`${path} --version\` failed: ${(error as Error).message.split('\n')[0]}` };
  }
}

/**
 * One binary at TEMPORAL_SERVER_VERSION: the path its variable names (which must be that version), else the first
 * candidate on PATH, then in $GOBIN or $HOME/go/bin (the cache) that reports that version, passing over (and
 * saying so) any other version; else built with `go install` from the Go module proxy into $HOME/go/bin.
 */
async function resolveServerBinary(binary: ServerBinary, say: (line: string) => void): Promise<{ path: string; source: string }> {
  const explicit = process.env[binary.envVar];
  if (explicit) {
    const found = await binaryVersion(explicit);
    if ('version' in found && found.version === TEMPORAL_SERVER_VERSION) return { path: explicit, source: binary.envVar };
    throw new Error(`${binary.envVar}=${explicit} is not Temporal ${TEMPORAL_SERVER_VERSION}: ${'version' in found ? `it is ${found.version}` : found.problem}`);
  }
  const names = [binary.releaseName, binary.goInstallName];
  const candidates = [
    ...names.flatMap((name) => onPath(name) ?? []).map((path) => ({ path, source: 'PATH' })),
    ...names.map((name) => join(goBinDir(), name)).filter((path) => existsSync(path)).map((path) => ({ path, source: 'go-bin' })),
  ];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    if (seen.has(candidate.path)) continue;
    seen.add(candidate.path);
    const found = await binaryVersion(candidate.path);
    if ('version' in found && found.version === TEMPORAL_SERVER_VERSION) return candidate;
    say(`skipping ${candidate.path}: ${'version' in found ? `it is Temporal ${found.version}, this harness runs ${TEMPORAL_SERVER_VERSION}` : found.problem}`);
  }
  say(`building ${binary.pkg}@${TEMPORAL_SERVER_VERSION} with go install (once; about 6 minutes)`);
  await run('go', ['install', `${binary.pkg}@${TEMPORAL_SERVER_VERSION}`], { timeout: 30 * 60_000 });
  const built = join(goBinDir(), binary.goInstallName);
  const found = await binaryVersion(built);
  if ('version' in found && found.version === TEMPORAL_SERVER_VERSION) return { path: built, source: 'go-install' };
  throw new Error(`go install ${binary.pkg}@${TEMPORAL_SERVER_VERSION} left ${built}, which is not that version: ${'version' in found ? found.version : found.problem}`);
}

export interface ResolvedTemporalServer {
  server: string;
  sqlTool: string;
  /** The server module's sources (schemas, sample dynamic config), which `go install` leaves in the module cache. */
  moduleDir: string;
  sources: { server: string; sqlTool: string };
}

/** The server and its schema tool, each as resolveServerBinary finds or builds it, and the module's sources. */
export async function resolveTemporalServer(say: (line: string) => void = () => undefined): Promise<ResolvedTemporalServer> {
  const server = await resolveServerBinary(SERVER_BINARIES.server, say);
  const sqlTool = await resolveServerBinary(SERVER_BINARIES.sqlTool, say);
  const { stdout } = await run('go', ['mod', 'download', '-json', `go.temporal.io/server@${TEMPORAL_SERVER_VERSION}`], { timeout: 10 * 60_000 });
  const moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
  return { server: server.path, sqlTool: sqlTool.path, moduleDir, sources: { server: server.source, sqlTool: sqlTool.source } };
}

/** A CA, the frontend's certificate (localhost, 127.0.0.1), a client certificate, and a stranger's from another CA. */
async function generateCertificates(dir: string): Promise<ClusterCertificates> {
  await mkdir(dir, { recursive: true });
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const ca = async (name: string) => {
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', `/CN=${name}`, '-keyout', at(`${name}.key`), '-out', at(`${name}.pem`));
  };
  const leaf = async (name: string, signer: string, extensions: string) => {
    await writeFile(at(`${name}.ext`), extensions);
    await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`));
    await openssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at(`${signer}.pem`), '-CAkey', at(`${signer}.key`), '-CAcreateserial', '-days', '30', '-extfile', at(`${name}.ext`), '-out', at(`${name}.pem`));
  };
  await ca('opsflow-cluster-ca');
  await ca('stranger-ca');
  await leaf('frontend', 'opsflow-cluster-ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  await leaf('opsflow-client', 'opsflow-cluster-ca', 'extendedKeyUsage=clientAuth\n');
  await leaf('stranger', 'stranger-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: at('opsflow-cluster-ca.pem'),
    clientCert: at('opsflow-client.pem'),
    clientKey: at('opsflow-client.key'),
    strangerCert: at('stranger.pem'),
    strangerKey: at('stranger.key'),
    serverName: 'localhost',
  };
}

async function applySchemas(sqlTool: string, moduleDir: string, pg: { port: number; user: string; password: string }): Promise<void> {
  const schemaRoot = join(moduleDir, 'schema/postgresql/v12');
  for (const [database, schema] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']] as const) {
    const base = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pg.port), '-u', pg.user, '--pw', pg.password, '--db', database];
    await run(sqlTool, [...base, 'create']).catch((error: Error) => {
      if (!/already exists/.test(error.message)) throw error;
    });
    // A second start finds the schema in place; update-schema then applies only what a newer server needs.
    await run(sqlTool, [...base, 'setup-schema', '-v', '0.0']).catch((error: Error) => {
      if (!/already exists|schema_version/i.test(error.message)) throw error;
    });
    await run(sqlTool, [...base, 'update-schema', '-d', join(schemaRoot, schema, 'versioned')]);
  }
}

function clusterConfig(options: {
  pg: { port: number; user: string; password: string };
  ports: Record<'frontend' | 'frontendMembership' | 'frontendHttp' | 'history' | 'historyMembership' | 'matching' | 'matchingMembership' | 'worker' | 'workerMembership' | 'metrics', number>;
  shards: number;
  certs: ClusterCertificates;
  frontendKey: string;
  frontendCert: string;
  dynamicConfig: string;
}): string {
  const { pg, ports, certs } = options;
  const store = (database: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${database}
        connectAddr: "127.0.0.1:${pg.port}"
        connectProtocol: tcp
        user: "${pg.user}"
        password: "${pg.password}"
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const service = (grpc: number, membership: number, http?: number) => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  // Written out rather than edited from the module's sample, so every setting this harness depends on is here.
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: ${options.shards}
  datastores:
    default:${store('temporal', 20)}
    visibility:${store('temporal_visibility', 10)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: "127.0.0.1:${ports.metrics}"
  tls:
    frontend:
      server:
        certFile: ${options.frontendCert}
        keyFile: ${options.frontendKey}
        requireClientAuth: true
        clientCaFiles:
          - ${certs.caCert}
      client:
        serverName: ${certs.serverName}
        rootCaFiles:
          - ${certs.caCert}
    systemWorker:
      certFile: ${certs.clientCert}
      keyFile: ${certs.clientKey}
      client:
        serverName: ${certs.serverName}
        rootCaFiles:
          - ${certs.caCert}
services:
  frontend:${service(ports.frontend, ports.frontendMembership, ports.frontendHttp)}
  history:${service(ports.history, ports.historyMembership)}
  matching:${service(ports.matching, ports.matchingMembership)}
  worker:${service(ports.worker, ports.workerMembership)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:${ports.frontend}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${options.dynamicConfig}
  pollInterval: 10s
`;
}

/** The dynamic config: the module's development-sql settings, plus what Opsflow needs from a fresh cluster. */
async function writeDynamicConfig(moduleDir: string, path: string): Promise<void> {
  const sample = await readFile(join(moduleDir, 'config/dynamicconfig/development-sql.yaml'), 'utf8');
  const extra = `
# Opsflow: search attributes registered at start are usable at once; Updates (decisions) are on.
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
frontend.enableUpdateWorkflowExecution:
  - value: true
frontend.enableUpdateWorkflowExecutionAsyncAccepted:
  - value: true
`;
  await writeFile(path, sample.includes('frontend.enableUpdateWorkflowExecution:') ? sample : sample + extra);
}

export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const say = options.onOutput ?? (() => undefined);
  const { server, sqlTool, moduleDir } = await resolveTemporalServer(say);
  await mkdir(join(options.dir, 'config'), { recursive: true });
  const ownPostgres = options.postgres ? undefined : await startEmbeddedPostgres({ dataDir: join(options.dir, 'postgres'), persistent: options.persistent ?? false });
  const postgres = options.postgres ?? ownPostgres!;
  const url = new URL(postgres.serverUrl);
  const pg = { port: Number(url.port), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  try {
    const certs = await generateCertificates(join(options.dir, 'certs'));
    await applySchemas(sqlTool, moduleDir, pg);
    const ports = {
      frontend: await freePort(0),
      frontendMembership: await freePortBelow32768(),
      frontendHttp: await freePort(0),
      history: await freePort(0),
      historyMembership: await freePortBelow32768(),
      matching: await freePort(0),
      matchingMembership: await freePortBelow32768(),
      worker: await freePort(0),
      workerMembership: await freePortBelow32768(),
      metrics: await freePort(0),
    };
    const dynamicConfig = join(options.dir, 'config', 'dynamic.yaml');
    await writeDynamicConfig(moduleDir, dynamicConfig);
    await copyFile(certs.caCert, join(options.dir, 'config', 'ca.pem'));
    const config = clusterConfig({
      pg,
      ports,
      shards: options.historyShards ?? 4,
      certs,
      frontendCert: join(certs.dir, 'frontend.pem'),
      frontendKey: join(certs.dir, 'frontend.key'),
      dynamicConfig,
    });
    await writeFile(join(options.dir, 'config', 'development.yaml'), config);

    const child = spawn(server, ['--root', options.dir, '--config', 'config', '--env', 'development', 'start'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) say(line);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);

    const address = `127.0.0.1:${ports.frontend}`;
    const tls = {
      serverNameOverride: certs.serverName,
      serverRootCACertificate: await readFile(certs.caCert),
      clientCertPair: { crt: await readFile(certs.clientCert), key: await readFile(certs.clientKey) },
    };
    await waitUntilServing(address, child, 90_000, { tls });
    await ensureNamespace(address, tls, 'default');
    await ensureSearchAttributes(address, 'default', { tls });

    const env = {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
      TEMPORAL_TLS_SERVER_NAME: certs.serverName,
    };
    const tomlPath = join(options.dir, 'temporal.toml');
    await writeFile(
      tomlPath,
      `[profile.cluster]\naddress = "${address}"\nnamespace = "default"\n\n[profile.cluster.tls]\nclient_cert_path = "${certs.clientCert}"\nclient_key_path = "${certs.clientKey}"\nserver_ca_cert_path = "${certs.caCert}"\nserver_name = "${certs.serverName}"\n`,
    );
    return {
      address,
      namespace: 'default',
      certificates: certs,
      env,
      tomlPath,
      process: child,
      stop: async () => {
        await stopChild(child, 10_000);
        await ownPostgres?.stop();
      },
    };
  } catch (error) {
    await ownPostgres?.stop();
    throw error;
  }
}

/** A fresh cluster has no namespaces; registration takes a moment to reach every service. */
async function ensureNamespace(address: string, tls: NonNullable<Parameters<typeof Connection.connect>[0]>['tls'], namespace: string): Promise<void> {
  const connection = await Connection.connect({ address, tls });
  try {
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(3 * 86_400) } });
    } catch (error) {
      if (!/already exists|AlreadyExists/i.test((error as Error).message)) throw error;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } catch (error) {
        if (attempt > 60) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } finally {
    await connection.close();
  }
}

// `npm run temporal:install-server`: find or build the server and its schema tool and print them; CI calls this before
// the tests, so the first build (about 6 minutes) never runs inside a test's setup timeout.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  resolveTemporalServer(console.log)
    .then(({ server, sqlTool, sources }) => {
      console.log(`temporal server ${TEMPORAL_SERVER_VERSION}: ${server} (${sources.server})`);
      console.log(`temporal sql tool ${TEMPORAL_SERVER_VERSION}: ${sqlTool} (${sources.sqlTool})`);
    })
    .catch((error: Error) => {
      console.error(error.message);
      process.exit(1);
    });
}
