import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { toAppError } from '../../api/errors.js';
import { createDb, defaultDbPoolSettings, type Db } from '../../lib/db.js';
import { classifyUnavailable } from '../../lib/unavailability.js';

/**
 * Outage and overload errors produced for real on the test PostgreSQL: a pool with one connection held, a
 * transaction that outlives its timeout, a backend terminated under a query. Each must be a 503, never a 500.
 */
const url = `${inject('pgServerUrl')}/postgres`;
const clients: Db[] = [];
const db = (settings: Partial<typeof defaultDbPoolSettings>) => {
  const client = createDb(url, { ...defaultDbPoolSettings, ...settings });
  clients.push(client);
  return client;
};
afterAll(async () => {
  for (const client of clients) await client.$disconnect();
});

async function caught(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to fail');
}

/** Holds the pool's only connection until `release` resolves. */
function holdOnlyConnection(client: Db) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const holding = new Promise<void>((resolve) => (held = resolve));
  const done = client.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1`;
    held();
    await released;
  }, { timeout: 30_000 });
  return { holding, release: async () => (release(), await done) };
}

describe('database overload and outage errors are 503', () => {
  it('a transaction that cannot start within DATABASE_TX_MAX_WAIT_MS (P2028)', async () => {
    // Prisma's JS engine checks maxWait once the pool hands over a connection (the pool's own wait is what bounds
    // the waiting, see the next test): hold the only connection for longer than maxWait, then give it back.
    const client = db({ poolMax: 1, poolWaitMs: 30_000, txMaxWaitMs: 200 });
    const hold = holdOnlyConnection(client);
    await hold.holding;
    const attempt = caught(() => client.$transaction(async (tx) => tx.$queryRaw`SELECT 1`));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await hold.release();
    const error = await attempt;
    expect((error as { code: string }).code).toBe('P2028');
    expect(classifyUnavailable(error)).toEqual({ dependency: 'database', reason: 'a database transaction could not start or finish in time' });
    expect(toAppError(error).status).toBe(503);
  });

  it('a query that gets no pool connection within DATABASE_POOL_WAIT_MS', async () => {
    const client = db({ poolMax: 1, poolWaitMs: 200 });
    const hold = holdOnlyConnection(client);
    await hold.holding;
    const error = await caught(() => client.run.count());
    await hold.release();
    expect(classifyUnavailable(error)).toEqual({ dependency: 'database', reason: 'no database connection was free in time' });
  });

  it('a transaction that outlives DATABASE_TX_TIMEOUT_MS (P2028)', async () => {
    const client = db({ txTimeoutMs: 200 });
    const error = await caught(() =>
      client.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT pg_sleep(0.5)::text`;
        await tx.$queryRaw`SELECT 1`;
      }),
    );
    expect((error as { code: string }).code).toBe('P2028');
    expect(toAppError(error).status).toBe(503);
  });

  it('a backend terminated under a running query (57P01, as when PostgreSQL shuts down)', async () => {
    const client = db({});
    const marker = `opsflow_terminate_${Date.now()}`;
    const running = caught(() => client.$queryRawUnsafe(`SELECT pg_sleep(10)::text AS ${marker}`));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      for (let terminated = 0; terminated === 0; ) {
        const result = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()`, [`%${marker}%`]);
        terminated = result.rowCount ?? 0;
      }
    } finally {
      await admin.end();
    }
    const error = await running;
    expect(classifyUnavailable(error)).toEqual({ dependency: 'database', reason: 'the database server is shutting down' });
  });
});
