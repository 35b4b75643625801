import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from './generated/prisma/client.js';
import type { Config } from './config.js';

export type Db = PrismaClient;

/** How a process uses its connections (lib/config.ts DATABASE_POOL_* and DATABASE_TX_*; README, Reliability). */
export interface DbPoolSettings {
  /** Connections this process may hold; size it for the process's concurrency. */
  poolMax: number;
  /** How long a query waits for a free connection before failing (then the API answers 503, not 500). */
  poolWaitMs: number;
  /** How long an interactive transaction waits to start (Prisma's maxWait). */
  txMaxWaitMs: number;
  /** How long an interactive transaction may run before it is rolled back (Prisma's timeout). */
  txTimeoutMs: number;
}

export const defaultDbPoolSettings: DbPoolSettings = { poolMax: 20, poolWaitMs: 5_000, txMaxWaitMs: 5_000, txTimeoutMs: 10_000 };

export function dbPoolSettingsOf(config: Pick<Config, 'DATABASE_POOL_MAX' | 'DATABASE_POOL_WAIT_MS' | 'DATABASE_TX_MAX_WAIT_MS' | 'DATABASE_TX_TIMEOUT_MS'>): DbPoolSettings {
  return {
    poolMax: config.DATABASE_POOL_MAX,
    poolWaitMs: config.DATABASE_POOL_WAIT_MS,
    txMaxWaitMs: config.DATABASE_TX_MAX_WAIT_MS,
    txTimeoutMs: config.DATABASE_TX_TIMEOUT_MS,
  };
}

/**
 * A Prisma client on a bounded pg pool: a query waits at most `poolWaitMs` for a connection and every interactive
 * transaction gets the configured maxWait/timeout (Prisma's defaults, 2 s and 5 s, made bursts fail with P2028).
 */
export function createDb(databaseUrl: string, settings: DbPoolSettings = defaultDbPoolSettings): Db {
  return new PrismaClient({
    adapter: new PrismaPg({ connectionString: databaseUrl, max: settings.poolMax, connectionTimeoutMillis: settings.poolWaitMs }),
    transactionOptions: { maxWait: settings.txMaxWaitMs, timeout: settings.txTimeoutMs },
  });
}

export { Prisma };

/**
 * A date as a raw statement's value for a `DateTime` column (timestamp without time zone): the UTC wall-clock time
 * Prisma itself writes, whatever the session's time zone.
 */
export function sqlTimestamp(date: Date): Prisma.Sql {
  return Prisma.sql`${date.toISOString()}::timestamptz AT TIME ZONE 'UTC'`;
}
