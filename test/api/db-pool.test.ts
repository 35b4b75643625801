import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { createDb, dbPoolSettingsOf, type Db } from '../../lib/db.js';

/**
 * A pool keeps its idle connections for DATABASE_POOL_IDLE_MS. pg's default (10 s) closed them between bursts, and
 * every new connection cost PostgreSQL a backend start (commits of its own, counted in pg_stat_database) and each
 * prepared statement prepared again.
 */
const url = `${inject('pgServerUrl')}/postgres`;
const clients: Db[] = [];
const observer = new pg.Client({ connectionString: url });
afterAll(async () => {
  for (const client of clients) await client.$disconnect();
  await observer.end();
});

const settings = dbPoolSettingsOf(loadConfig({ DATABASE_URL: url, TOKEN_SECRET: 'a-test-secret-of-thirty-two-chars!!' }));
const pool = (poolIdleMs: number) => {
  const client = createDb(url, { ...settings, poolMax: 1, poolIdleMs });
  clients.push(client);
  return client;
};
const backendOf = async (client: Db) => (await client.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`)[0]!.pid;
const isConnected = async (pid: number) => (await observer.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;

describe('database pool', () => {
  it('keeps an idle connection for DATABASE_POOL_IDLE_MS (default 5 min), past pg’s own 10 s', async () => {
    expect(settings.poolIdleMs).toBe(300_000);
    await observer.connect();
    const short = pool(1_000);
    const byDefault = pool(settings.poolIdleMs);
    const shortPid = await backendOf(short);
    const defaultPid = await backendOf(byDefault);
    const idleSince = Date.now();

    // The short pool closes its connection once it has been idle for its setting: the setting reaches the pool.
    await expect.poll(() => isConnected(shortPid), { timeout: 15_000, interval: 200 }).toBe(false);
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(900);

    // The default pool's connection is still there after longer than pg's default idle timeout, and is reused.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, idleSince + 11_000 - Date.now())));
    expect(await isConnected(defaultPid)).toBe(true);
    expect(await backendOf(byDefault)).toBe(defaultPid);
  }, 30_000);
});
