import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_HASH } from '../../lib/audit-chain.js';
import { createDb, type Db } from '../../lib/db.js';
import { chainIsNew, insertAuditEntry } from '../../lib/outbound-webhooks.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * The audit log as evidence, on the real stack: the API and the worker write as the restricted runtime role,
 * the test tampers as the owner (the only role that can), and GET /runs/:id/audit/verify must notice.
 */
describe('tamper-evident audit', () => {
  let stack: Stack;
  /** The API's and worker's login, for what the runtime role may and may not do. */
  let runtimeDb: Db;
  beforeAll(async () => {
    stack = await startStack();
    runtimeDb = createDb(stack.runtimeDatabaseUrl);
  });
  afterAll(async () => {
    await runtimeDb?.$disconnect();
    await stack?.stop();
  });

  /** A 250,000 EUR capex approved by line manager, finance director and CFO through the mailed links. */
  async function approvedCapexRun(): Promise<string> {
    stack.mail.clear();
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput(), settings: quickTiming });
    expect(started.status).toBe(201);
    const runId: string = started.body.runId;
    for (const approver of [approvers.lineManager, approvers.financeDirector, approvers.cfo]) {
      const { link } = await waitForApprovalMail(stack, approver);
      expect((await submitDecision(link, 'approve', `Approved by ${approver}`)).status).toBe(200);
    }
    await waitForRunStatus(stack, runId, 'completed');
    return runId;
  }

  const chainOf = (runId: string) => stack.db.auditEntry.findMany({ where: { chain: runId }, orderBy: { seq: 'asc' } });
  const verify = async (runId: string) => {
    const { status, body } = await getJson(`${stack.apiUrl}/runs/${runId}/audit/verify`);
    expect(status).toBe(200);
    return body;
  };
  /** As the owner, with the append-only trigger off for this one statement: what a database administrator could do. */
  const tamperAsOwner = (statement: ReturnType<Db['$executeRaw']>) =>
    stack.db.$transaction([
      stack.db.$executeRaw`ALTER TABLE "AuditEntry" DISABLE TRIGGER "AuditEntry_append_only"`,
      statement,
      stack.db.$executeRaw`ALTER TABLE "AuditEntry" ENABLE TRIGGER "AuditEntry_append_only"`,
    ]);

  it('a completed capex run verifies: every entry chained, seq 1..n, and the API and export carry the hashes', async () => {
    const runId = await approvedCapexRun();
    const entries = await chainOf(runId);
    expect(entries.length).toBeGreaterThanOrEqual(8);
    expect(await stack.db.auditEntry.count({ where: { runId } })).toBe(entries.length);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH);
    for (const [i, entry] of entries.entries()) {
      expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
      if (i > 0) expect(entry.prevHash).toBe(entries[i - 1]!.hash);
    }

    const result = await verify(runId);
    expect(result).toEqual({ runId, ok: true, entries: entries.length, legacy: 0, head: { seq: entries.length, hash: entries.at(-1)!.hash }, firstBroken: null });

    const perRun = await getJson(`${stack.apiUrl}/runs/${runId}/audit`);
    expect(perRun.body.items.find((e: { seq: number }) => e.seq === 1)).toMatchObject({ chain: runId, prevHash: GENESIS_HASH, hash: entries[0]!.hash });
    const exported = await fetch(`${stack.apiUrl}/audit/export?runId=${runId}`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
    const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line) as { seq: number; hash: string; prevHash: string; chain: string });
    expect(lines).toHaveLength(entries.length);
    expect(lines.find((l) => l.seq === entries.length)?.hash).toBe(result.head.hash);

    expect((await getJson(`${stack.apiUrl}/runs/capex-nope/audit/verify`)).status).toBe(404);
    const noScope = await stack.createKey('alex.rivera@example.com', ['decisions:write']);
    expect((await getJson(`${stack.apiUrl}/runs/${runId}/audit/verify`, { authorization: `Bearer ${noScope}` })).status).toBe(403);
  });

  it('names the entry whose details the owner changed, with the content reason', async () => {
    const runId = await approvedCapexRun();
    const entries = await chainOf(runId);
    const target = entries.find((e) => e.action === 'approval.decided' && e.step === 'finance-director')!;
    expect(target.seq).toBeGreaterThan(1);
    expect(target.seq).toBeLessThan(entries.length);

    await tamperAsOwner(stack.db.$executeRaw`UPDATE "AuditEntry" SET details = details || '{"comment":"Approved without reservations"}'::jsonb WHERE id = ${target.id}`);

    const result = await verify(runId);
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(entries.length);
    expect(result.firstBroken).toMatchObject({ id: String(target.id), seq: target.seq, action: 'approval.decided', check: 'content' });
    expect(result.firstBroken.reason).toMatch(/content does not match its hash/);
  });

  it('names the entry after one the owner deleted, with the link reason', async () => {
    const runId = await approvedCapexRun();
    const entries = await chainOf(runId);
    const middle = Math.floor(entries.length / 2);
    const removed = entries[middle]!;
    const next = entries[middle + 1]!;

    await tamperAsOwner(stack.db.$executeRaw`DELETE FROM "AuditEntry" WHERE id = ${removed.id}`);

    const result = await verify(runId);
    expect(result.ok).toBe(false);
    expect(result.entries).toBe(entries.length - 1);
    expect(result.firstBroken).toMatchObject({ id: String(next.id), seq: next.seq, check: 'link' });
    expect(result.firstBroken.reason).toMatch(/prevHash does not match.*removed, inserted or reordered/);
  });

  it('the runtime role may insert and read audit entries but not update, delete, truncate or alter them', async () => {
    const runId = await approvedCapexRun();
    const victim = (await chainOf(runId))[1]!;
    // The run above was written by the API and the worker: their sessions are the runtime login's.
    const sessions = await stack.db.$queryRaw<Array<{ usename: string }>>`SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database()`;
    expect(sessions.map((s) => s.usename)).toContain('opsflow_app');
    const runtime = new pg.Client({ connectionString: stack.runtimeDatabaseUrl });
    await runtime.connect();
    try {
      const refusal = (sql: string) => runtime.query(sql).then(() => 'allowed', (error: { code?: string }) => error.code);
      expect((await runtime.query('SELECT current_user AS role')).rows[0].role).toBe('opsflow_app');
      expect(await refusal(`UPDATE "AuditEntry" SET actor = 'mallory@example.com' WHERE id = ${victim.id}`)).toBe('42501');
      expect(await refusal(`DELETE FROM "AuditEntry" WHERE id = ${victim.id}`)).toBe('42501');
      expect(await refusal('TRUNCATE "AuditEntry"')).toBe('42501');
      expect(await refusal('ALTER TABLE "AuditEntry" DISABLE TRIGGER "AuditEntry_append_only"')).toBe('42501');
      expect(await refusal('ALTER TABLE "AuditEntry" ADD COLUMN "note" TEXT')).toBe('42501');
      expect(await refusal('SELECT * FROM "_prisma_migrations"')).toBe('42501');
      // The refusals are specific: the same login reads the log and updates the read models.
      expect(await refusal('SELECT count(*) FROM "AuditEntry"')).toBe('allowed');
      expect(await refusal(`UPDATE "Run" SET "updatedAt" = now() WHERE id = '${runId}'`)).toBe('allowed');
    } finally {
      await runtime.end();
    }
    expect(await stack.db.auditEntry.findUniqueOrThrow({ where: { id: victim.id } })).toEqual(victim);

    // Appending as the runtime role works, with details the way jsonb hands them back (reordered keys, numbers).
    const appended = await runtimeDb.$transaction((tx) =>
      insertAuditEntry(tx, {
        eventKey: `${runId}:audit-test:note`, runId, action: 'note.added', actor: 'ops.desk@example.com',
        details: { z: 1, a: { y: [true, null, 'Zoë'], b: 0.1 }, big: 1e21, small: 1.5e-7, dropped: undefined },
      }),
    );
    expect(appended.inserted).toBe(true);
    const after = await chainOf(runId);
    expect(after.at(-1)).toMatchObject({ action: 'note.added', seq: after.length, prevHash: after.at(-2)!.hash });
    expect(await verify(runId)).toMatchObject({ ok: true, entries: after.length, head: { seq: after.length, hash: after.at(-1)!.hash } });
  });

  it('30 concurrent writers on one chain end with seq 1..30 and an intact chain (no fork)', async () => {
    const runId = 'capex-concurrent-audit';
    await stack.db.run.create({ data: { id: runId, process: 'capex', status: 'running', title: 'Concurrent', requesterName: 'A', requesterEmail: approvers.requester, input: {}, settings: {} } });
    const writes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        runtimeDb.$transaction((tx) => insertAuditEntry(tx, { eventKey: `${runId}:writer-${i}`, runId, action: 'test.concurrent', actor: `writer-${i}@example.com`, details: { i } })),
      ),
    );
    expect(writes.filter((w) => w.status === 'rejected')).toEqual([]);
    const entries = await chainOf(runId);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.prevHash)).size).toBe(30);
    expect(await verify(runId)).toMatchObject({ ok: true, entries: 30, legacy: 0, firstBroken: null });
  });

  it('transactions of several entries, retried with some written before and racing lone writers, chain each entry once', async () => {
    const runId = 'capex-batched-audit';
    await stack.db.run.create({ data: { id: runId, process: 'capex', status: 'running', title: 'Batched', requesterName: 'A', requesterEmail: approvers.requester, input: {}, settings: {} } });
    const entry = (key: string) => ({ eventKey: `${runId}:${key}`, runId, action: 'test.batched', actor: 'opsflow', details: { key } });
    const writeAll = (keys: string[]) =>
      runtimeDb.$transaction(async (tx) => {
        const inserted: boolean[] = [];
        for (const key of keys) inserted.push((await insertAuditEntry(tx, entry(key))).inserted);
        return inserted;
      });
    // As an activity's retry does: its first entries may be written already (by its first attempt, or by the
    // activity that wrote them first), and a later one may be written already while an earlier one is not.
    expect(await writeAll(['a', 'b'])).toEqual([true, true]);
    const results = await Promise.all([
      writeAll(['a', 'b', 'c', 'd']),
      writeAll(['e', 'b', 'f']),
      ...Array.from({ length: 8 }, (_, i) => writeAll([`lone-${i}`])),
      writeAll(['g', 'h', 'a', 'i']),
    ]);
    expect(results[0]).toEqual([false, false, true, true]);
    expect(results[1]).toEqual([true, false, true]);
    expect(results.at(-1)).toEqual([true, true, false, true]);
    const entries = await chainOf(runId);
    expect(entries.map((e) => (e.details as { key: string }).key).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', ...Array.from({ length: 8 }, (_, i) => `lone-${i}`)].sort());
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    // Each transaction's entries are consecutive: nobody appended between them.
    const seqOf = (key: string) => entries.find((e) => (e.details as { key: string }).key === key)!.seq;
    expect([seqOf('d') - seqOf('c'), seqOf('f') - seqOf('e'), seqOf('h') - seqOf('g'), seqOf('i') - seqOf('h')]).toEqual([1, 1, 1, 1]);
    expect(await verify(runId)).toMatchObject({ ok: true, entries: 17, legacy: 0, firstBroken: null });
  });

  it('a chain taken for new (its run inserted in the same transaction) that has entries after all refuses the entry: no fork', async () => {
    const runId = 'capex-not-new-audit';
    await stack.db.run.create({ data: { id: runId, process: 'capex', status: 'running', title: 'Not new', requesterName: 'A', requesterEmail: approvers.requester, input: {}, settings: {} } });
    await runtimeDb.$transaction((tx) => insertAuditEntry(tx, { eventKey: `${runId}:first`, runId, action: 'test.first', actor: 'opsflow' }));
    const second = runtimeDb.$transaction(async (tx) => {
      chainIsNew(tx, runId);
      return insertAuditEntry(tx, { eventKey: `${runId}:second`, runId, action: 'test.second', actor: 'opsflow' });
    });
    await expect(second).rejects.toMatchObject({ message: expect.stringMatching(/unique|duplicate/i) });
    expect(await verify(runId)).toMatchObject({ ok: true, entries: 1 });
  });

  it('concurrent retries of one entry (same eventKey) write it once and all succeed', async () => {
    const runId = 'capex-retried-audit';
    await stack.db.run.create({ data: { id: runId, process: 'capex', status: 'running', title: 'Retried', requesterName: 'A', requesterEmail: approvers.requester, input: {}, settings: {} } });
    const attempts = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        runtimeDb.$transaction((tx) => insertAuditEntry(tx, { eventKey: `${runId}:run.started`, runId, action: 'run.started', actor: approvers.requester })),
      ),
    );
    expect(attempts.filter((a) => a.status === 'rejected')).toEqual([]);
    expect(attempts.filter((a) => a.status === 'fulfilled' && a.value.inserted)).toHaveLength(1);
    expect(await verify(runId)).toMatchObject({ ok: true, entries: 1 });
  });

  it('directory changes go on the org chain, which GET /audit/verify?chain=org checks', async () => {
    const path = `${stack.apiUrl}/directory/people/morgan.lee@example.com/delegations`;
    const created = await postJson(path, { delegateEmail: 'priya.shah@example.com', startsAt: '2027-01-04T00:00:00Z', endsAt: '2027-01-08T00:00:00Z' });
    expect(created.status).toBe(201);
    const org = await stack.db.auditEntry.findMany({ where: { chain: 'org' }, orderBy: { seq: 'asc' } });
    expect(org.map((e) => e.action)).toContain('delegation.created');
    const { status, body } = await getJson(`${stack.apiUrl}/audit/verify?chain=org`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ chain: 'org', ok: true, entries: org.length, head: { seq: org.length, hash: org.at(-1)!.hash } });
    expect((await getJson(`${stack.apiUrl}/audit/verify?chain=no-such-chain`)).status).toBe(404);
    const reader = await stack.createKey('alex.rivera@example.com', ['runs:read']);
    expect((await getJson(`${stack.apiUrl}/audit/verify?chain=org`, { authorization: `Bearer ${reader}` })).status).toBe(403);
  });
});
