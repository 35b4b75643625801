import { createHash } from 'node:crypto';
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
  /** How long a connection may stay idle in the pool before it is closed (pg's default, 10 s, churned them). */
  poolIdleMs: number;
  /** How long an interactive transaction waits to start (Prisma's maxWait). */
  txMaxWaitMs: number;
  /** How long an interactive transaction may run before it is rolled back (Prisma's timeout). */
  txTimeoutMs: number;
  /** Whether statements are prepared once per connection and then executed by name (DATABASE_PREPARED_STATEMENTS). */
  preparedStatements: boolean;
}

export const defaultDbPoolSettings: DbPoolSettings = { poolMax: 20, poolWaitMs: 5_000, poolIdleMs: 300_000, txMaxWaitMs: 5_000, txTimeoutMs: 10_000, preparedStatements: true };

export function dbPoolSettingsOf(
  config: Pick<Config, 'DATABASE_POOL_MAX' | 'DATABASE_POOL_WAIT_MS' | 'DATABASE_POOL_IDLE_MS' | 'DATABASE_TX_MAX_WAIT_MS' | 'DATABASE_TX_TIMEOUT_MS' | 'DATABASE_PREPARED_STATEMENTS'>,
): DbPoolSettings {
  return {
    poolMax: config.DATABASE_POOL_MAX,
    poolWaitMs: config.DATABASE_POOL_WAIT_MS,
    poolIdleMs: config.DATABASE_POOL_IDLE_MS,
    txMaxWaitMs: config.DATABASE_TX_MAX_WAIT_MS,
    txTimeoutMs: config.DATABASE_TX_TIMEOUT_MS,
    preparedStatements: config.DATABASE_PREPARED_STATEMENTS,
  };
}

/**
 * A statement with more parameters than this stays unnamed (parsed on every execution): lists of values give one text
 * per length, and PostgreSQL keeps every statement a connection prepared until it closes.
 */
const MAX_PREPARED_PARAMETERS = 32;

/** Names already given, by statement text: hashing the same few hundred texts again on every query is wasted CPU. */
const statementNames = new Map<string, string>();
const MAX_REMEMBERED_NAMES = 5_000;

/**
 * A statement's name for PostgreSQL's prepared statements: the same text always gets the same name, so each
 * connection parses and plans it once (pg keeps, per connection, which names it has prepared) and executes it by
 * name after that. Without a name every statement is parsed and planned again on every execution.
 */
export function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `opsflow_${createHash('sha256').update(sql).digest('base64url').slice(0, 32)}`;
    if (statementNames.size >= MAX_REMEMBERED_NAMES) statementNames.clear();
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * A Prisma client on a bounded pg pool: a query waits at most `poolWaitMs` for a connection, an idle connection is kept
 * for `poolIdleMs`, and every interactive transaction gets the configured maxWait/timeout (Prisma's defaults, 2 s and
 * 5 s, made bursts fail with P2028); statements are prepared once per connection unless `preparedStatements` is off.
 */
export function createDb(databaseUrl: string, settings: DbPoolSettings = defaultDbPoolSettings): Db {
  return new PrismaClient({
    adapter: new PrismaPg(
      { connectionString: databaseUrl, max: settings.poolMax, connectionTimeoutMillis: settings.poolWaitMs, idleTimeoutMillis: settings.poolIdleMs },
      // An unnamed statement is the adapter's default; the generator's type says string, an empty name is unnamed to pg.
      settings.preparedStatements ? { statementNameGenerator: (query) => (query.args.length <= MAX_PREPARED_PARAMETERS ? statementName(query.sql) : '') } : {},
    ),
    transactionOptions: { maxWait: settings.txMaxWaitMs, timeout: settings.txTimeoutMs },
  });
}

export { Prisma };

/**
 * A model's columns for a raw statement, by name under the table's alias (`p."email"`), or each also named
 * `"<alias>.<column>"` when `prefixed` (to tell two joined tables' columns apart). Raw statements name their columns,
 * never `*`: a prepared `*` fails with "cached plan must not change result type" once a migration adds a column.
 */
export function columnsOf(alias: string, fields: Record<string, string>, prefixed = false): Prisma.Sql {
  return Prisma.raw(Object.values(fields).map((column) => (prefixed ? `${alias}."${column}" AS "${alias}.${column}"` : `${alias}."${column}"`)).join(', '));
}

/**
 * A date as a raw statement's value for a `DateTime` column (timestamp without time zone): the UTC wall-clock time
 * Prisma itself writes, whatever the session's time zone.
 */
export function sqlTimestamp(date: Date): Prisma.Sql {
  return Prisma.sql`${date.toISOString()}::timestamptz AT TIME ZONE 'UTC'`;
}
