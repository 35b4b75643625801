import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GENESIS_HASH, verifyChain } from '../../lib/audit-chain.js';
import { createDb, type Db } from '../../lib/db.js';
import { insertAuditEntry } from '../../lib/outbound-webhooks.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FIRST_CHAIN_MIGRATION = '20261201100000_audit_chain';

/**
 * prisma migrate deploy (Prisma's own migration runner, as npm run migrate uses it) of the migrations in one folder.
 * The config is prisma.config.ts's with a pool that lets go at once: pg's default keeps the CLI alive 10 s after it is done.
 */
async function migrateDeploy(databaseUrl: string, scratch: string, migrations: string): Promise<void> {
  const config = join(scratch, `prisma.config.${randomUUID()}.ts`);
  await writeFile(
    config,
    [
      "import { PrismaPg } from '@prisma/adapter-pg';",
      "import { defineConfig } from 'prisma/config';",
      'export default defineConfig({',
      `  schema: ${JSON.stringify(join(root, 'prisma/schema.prisma'))},`,
      `  migrations: { path: ${JSON.stringify(migrations)} },`,
      '  experimental: { adapter: true },',
      "  engine: 'js',",
      '  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL!, idleTimeoutMillis: 1 }),',
      '});',
    ].join('\n'),
  );
  await promisify(execFile)(process.execPath, [join(root, 'node_modules/prisma/build/index.js'), 'migrate', 'deploy', '--config', config], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
}

/**
 * An installation upgraded with audit entries already written: the chain migration must number them per chain,
 * leave them unhashed (legacy), turn the append-only trigger back on, and new entries must chain after them.
 */
describe('the audit chain migration on a database with entries', () => {
  const scratch = join(root, 'test-output', `audit-migration-${randomUUID()}`);
  const databaseName = `opsflow_upgrade_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const databaseUrl = `${inject('pgServerUrl')}/${databaseName}`;
  let owner: pg.Client;
  let db: Db;

  beforeAll(async () => {
    // The database as it was before chaining: only the migrations that came before it.
    await mkdir(join(scratch, 'migrations'), { recursive: true });
    const earlier = (await readdir(join(root, 'prisma/migrations'))).filter((name) => name === 'migration_lock.toml' || name < FIRST_CHAIN_MIGRATION);
    for (const name of earlier) await cp(join(root, 'prisma/migrations', name), join(scratch, 'migrations', name), { recursive: true });
    const admin = new pg.Client({ connectionString: `${inject('pgServerUrl')}/postgres` });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${databaseName}"`);
    await admin.end();
    await migrateDeploy(databaseUrl, scratch, join(scratch, 'migrations'));

    owner = new pg.Client({ connectionString: databaseUrl });
    await owner.connect();
    for (const id of ['legacy-a', 'legacy-b']) {
      await owner.query(
        `INSERT INTO "Run" (id, process, status, title, "requesterName", "requesterEmail", input, settings, "updatedAt")
         VALUES ($1, 'capex', 'running', $1, 'A', 'alex.rivera@example.com', '{}', '{}', now())`,
        [id],
      );
    }
    // Interleaved, as a busy installation writes them: a, b, org, a, b, a, org.
    for (const [runId, action] of [['legacy-a', 'run.started'], ['legacy-b', 'run.started'], [null, 'delegation.created'], ['legacy-a', 'approval.requested'], ['legacy-b', 'approval.requested'], ['legacy-a', 'approval.decided'], [null, 'delegation.deleted']] as const) {
      await owner.query(`INSERT INTO "AuditEntry" ("runId", action, actor) VALUES ($1, $2, 'opsflow')`, [runId, action]);
    }

    await migrateDeploy(databaseUrl, scratch, join(root, 'prisma/migrations'));
    db = createDb(databaseUrl);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await owner?.end();
    await rm(scratch, { recursive: true, force: true });
  });

  it('numbers existing entries per chain in insert order and leaves their hashes empty', async () => {
    const { rows } = await owner.query<{ runId: string | null; chain: string; seq: number; prevHash: string | null; hash: string | null }>(
      'SELECT "runId", chain, seq, "prevHash", hash FROM "AuditEntry" ORDER BY id',
    );
    expect(rows.map((r) => [r.chain, r.seq])).toEqual([
      ['legacy-a', 1], ['legacy-b', 1], ['org', 1], ['legacy-a', 2], ['legacy-b', 2], ['legacy-a', 3], ['org', 2],
    ]);
    expect(rows.every((r) => r.hash === null && r.prevHash === null)).toBe(true);
    await expect(owner.query(`UPDATE "AuditEntry" SET actor = 'someone-else'`)).rejects.toThrow(/append-only/);
  });

  it('chains new entries after the legacy ones, starting from the genesis value, and verifies', async () => {
    for (const runId of ['legacy-a', null]) {
      await db.$transaction((tx) => insertAuditEntry(tx, { runId, action: 'after.upgrade', actor: 'opsflow' }));
    }
    const chainA = await db.auditEntry.findMany({ where: { chain: 'legacy-a' }, orderBy: { seq: 'asc' } });
    expect(chainA.at(-1)).toMatchObject({ seq: 4, prevHash: GENESIS_HASH, action: 'after.upgrade' });
    expect(verifyChain(chainA)).toMatchObject({ ok: true, entries: 4, legacy: 3, head: { seq: 4, hash: chainA.at(-1)!.hash } });
    const org = await db.auditEntry.findMany({ where: { chain: 'org' }, orderBy: { seq: 'asc' } });
    expect(verifyChain(org)).toMatchObject({ ok: true, entries: 3, legacy: 2, head: { seq: 3 } });
  });
});
