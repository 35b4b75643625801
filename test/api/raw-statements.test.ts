import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApprovalWithRun } from '../../api/approval-service.js';
import { seatRequestsRecorded } from '../../activities/approvals.js';
import { delegationsActiveAt, personByEmail, roleHolders } from '../../activities/records.js';
import { approvalRequestId, approvalSeatsPrefix } from '../../processes/approval-messages.js';
import { createDb, defaultDbPoolSettings, Prisma } from '../../lib/db.js';
import { currentPolicy, resolveRunPolicy, unknownRoleIssues } from '../../lib/policy-store.js';
import { insertRunRow, recordFactsVersion, runRow } from '../../lib/run-record.js';
import { factsOf, findProcess } from '../../processes/index.js';
import { capexInput } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * Hot paths use raw statements where Prisma would compile a model query anew each time; each must read or write
 * exactly what the model query does. The decision paths read an approval request and its run in one joined statement (api/approval-service.ts); what
 * they get must be exactly what Prisma's `findFirst` with `include: { run: true }` gives: every column, with its
 * type (dates, JSON, Decimal, nulls). A column added to either model is covered as it comes.
 */
describe('raw statements on hot paths do what Prisma would', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('gives what Prisma gives, for every lookup the decision paths make', async () => {
    const db = stack.db;
    await db.run.create({
      data: {
        id: 'lookup-full', process: 'capex', status: 'running', title: 'Full', requesterName: 'Alex', requesterEmail: 'alex.rivera@example.com',
        input: { amount: 1234.5, nested: { list: [1, 'x', null] } }, settings: { a: 1 }, policy: { steps: { cfo: { approvers: ['role:cfo'] } } }, policyVersion: 3,
        amount: 1234.5, currency: 'EUR', trigger: 'api', closedAt: new Date('2026-01-01T00:00:00.123Z'), stuckSince: new Date(), stuckReason: 'why',
      },
    });
    await db.run.create({ data: { id: 'lookup-bare', process: 'capex', status: 'completed', title: 'Bare', requesterName: 'Alex', requesterEmail: 'alex.rivera@example.com', input: {}, settings: {}, trigger: 'api' } });
    const request = { stepId: 'cfo', stepTitle: 'CFO', approverEmail: 'sam.okafor@example.com', approverName: 'Sam', approverRole: 'cfo', expiresAt: new Date(Date.now() + 3_600_000) };
    await db.approvalRequest.create({ data: { ...request, id: 'lookup-a1', runId: 'lookup-full', tokenHash: 'hash-a1', factsSnapshot: [{ label: 'Amount', value: '1,234.50' }], onBehalfOf: 'x@example.com' } });
    await db.approvalRequest.create({ data: { ...request, id: 'lookup-a2', runId: 'lookup-full', tokenHash: 'hash-a2', usedAt: new Date(), decision: 'approved', decidedBy: 'sam.okafor@example.com' } });
    await db.approvalRequest.create({ data: { ...request, id: 'lookup-a3', runId: 'lookup-bare', tokenHash: 'hash-a3', revokedAt: new Date(), revokedReason: 'the run ended' } });

    const lookups: Array<[Parameters<typeof findApprovalWithRun>[1], Parameters<typeof findApprovalWithRun>[2]?]> = [
      [{ tokenHash: 'hash-a1' }],
      [{ tokenHash: 'hash-a3' }],
      [{ tokenHash: 'no-such-hash' }],
      [{ id: 'lookup-a2' }],
      [{ id: 'lookup-a1', runId: 'lookup-full', kind: 'decision' }],
      [{ id: 'lookup-a1', runId: 'lookup-bare', kind: 'decision' }],
      [{ runId: 'lookup-full', kind: 'decision', approverEmail: 'sam.okafor@example.com', usedAt: null, revokedAt: null }, { createdAt: 'desc' }],
      [{ runId: 'lookup-bare', kind: 'decision', approverEmail: 'sam.okafor@example.com', usedAt: null, revokedAt: null }, { createdAt: 'desc' }],
    ];
    for (const [where, orderBy] of lookups) {
      const viaPrisma = await db.approvalRequest.findFirst({ where, orderBy, include: { run: true } });
      expect(await findApprovalWithRun(db, where, orderBy), JSON.stringify(where)).toStrictEqual(viaPrisma);
    }
    // A lookup the single statement does not cover still answers, through Prisma.
    expect((await findApprovalWithRun(db, { runId: 'lookup-full', decision: { not: null } }))?.id).toBe('lookup-a2');
  });

  it('prepares each statement once per connection and runs it by name after that, unless prepared statements are off', async () => {
    const preparedOn = async (preparedStatements: boolean) => {
      // One connection, so the statements it prepared are those pg_prepared_statements shows.
      const db = createDb(stack.runtimeDatabaseUrl, { ...defaultDbPoolSettings, poolMax: 1, preparedStatements });
      try {
        for (const email of ['morgan.lee@example.com', 'priya.shah@example.com', 'sam.okafor@example.com']) {
          await db.person.findUnique({ where: { email } });
          await db.$queryRaw`SELECT email FROM "Person" WHERE email = ${email}`;
        }
        // A list longer than a prepared statement takes stays unnamed: each length would be a statement of its own.
        await db.$queryRaw`SELECT email FROM "Person" WHERE email IN (${Prisma.join(Array.from({ length: 40 }, (_, i) => `p${i}@example.com`))})`;
        return await db.$queryRaw<Array<{ statement: string }>>`SELECT statement FROM pg_prepared_statements ORDER BY prepare_time`;
      } finally {
        await db.$disconnect();
      }
    };
    const prepared = await preparedOn(true);
    // The model query and the raw one, each prepared once for its three executions (and the query that lists them).
    expect(prepared.filter((p) => /FROM "public"."Person"/.test(p.statement))).toHaveLength(1);
    expect(prepared.filter((p) => p.statement === 'SELECT email FROM "Person" WHERE email = $1')).toHaveLength(1);
    expect(prepared.some((p) => / IN \(/.test(p.statement))).toBe(false);
    expect(await preparedOn(false)).toEqual([]);
  });

  it('a start reads the policy in force and the roles it names as Prisma would', async () => {
    const db = stack.db;
    const probe = { ...findProcess('capex')!, key: 'raw-policy-probe' };
    const newest = () => db.processPolicy.findFirst({ where: { process: probe.key }, orderBy: { version: 'desc' } });
    // The first read stores the built-in default as version 1; the next reads give the newest of several versions.
    expect(await currentPolicy(db, probe)).toStrictEqual(await newest());
    const policy = { steps: { cfo: { approvers: ['role:cfo'], sla: '2d' } }, limits: [1, 2.5, null], note: 'ü "quoted"' };
    await db.processPolicy.create({ data: { process: probe.key, version: 3, policy, createdBy: 'admin@example.com', reason: 'why' } });
    await db.processPolicy.create({ data: { process: probe.key, version: 2, policy: {}, createdBy: 'admin@example.com', reason: 'older' } });
    const latest = await currentPolicy(db, probe);
    expect(latest).toStrictEqual(await newest());
    expect(latest.version).toBe(3);

    // Only a role nobody holds is an issue, wherever the policy names it; a role held second in someone's list counts.
    const holders = await db.person.findMany({ select: { roles: true } });
    const heldFirst = new Set(holders.map((person) => person.roles[0]));
    const held = holders.flatMap((person) => person.roles.slice(1)).filter((role) => !heldFirst.has(role));
    expect(held.length).toBeGreaterThan(0);
    const named = { a: 'role:cfo', b: ['each-role:nobody-holds-this', `role:${held[0]}`], c: { d: 'role:nobody-holds-this' }, e: 'role:{dept}' };
    expect(await unknownRoleIssues(db, named, ['policy'])).toEqual([
      { path: 'policy.b.0', message: 'unknown role "nobody-holds-this": nobody in the directory holds it' },
      { path: 'policy.c.d', message: 'unknown role "nobody-holds-this": nobody in the directory holds it' },
    ]);
    expect(await unknownRoleIssues(db, { a: 'role:cfo' }, ['policy'])).toEqual([]);
  });

  it("a step's opening reads people, delegations and an earlier try's seats as Prisma would", async () => {
    const db = stack.db;
    // People: by address (any case), and every holder of a role in address order, wherever the role is in their list.
    await db.person.create({ data: { id: 'raw-p1', email: 'zoe.raw@example.com', name: 'Zoë "Raw"', roles: ['raw-role', 'cfo'], managerEmail: 'sam.okafor@example.com', digestHour: null, slackUserId: 'U0RAW' } });
    await db.person.create({ data: { id: 'raw-p2', email: 'adam.raw@example.com', name: 'Adam Raw', roles: ['other', 'raw-role'], timeZone: 'Europe/Berlin' } });
    for (const email of ['zoe.raw@example.com', 'ZOE.Raw@Example.com', 'nobody@example.com']) {
      expect(await personByEmail(db, email), email).toStrictEqual(await db.person.findUnique({ where: { email: email.toLowerCase() } }));
    }
    for (const role of ['raw-role', 'cfo', 'no-such-role']) {
      const viaPrisma = await db.person.findMany({ where: { roles: { has: role } }, orderBy: { email: 'asc' } });
      expect(await roleHolders(db, role), role).toStrictEqual(viaPrisma);
    }
    expect((await roleHolders(db, 'raw-role')).map((p) => p.email)).toEqual(['adam.raw@example.com', 'zoe.raw@example.com']);

    // Delegations active at a moment: started by then (inclusive), not yet ended (exclusive), newest first.
    const at = new Date('2026-06-01T12:00:00.000Z');
    const hours = (n: number) => new Date(at.getTime() + n * 3_600_000);
    const delegations = [
      { id: 'raw-d1', personEmail: 'zoe.raw@example.com', delegateEmail: 'adam.raw@example.com', startsAt: hours(-2), endsAt: hours(2), createdAt: hours(-10) },
      { id: 'raw-d2', personEmail: 'zoe.raw@example.com', delegateEmail: 'sam.okafor@example.com', startsAt: at, endsAt: hours(1), createdAt: hours(-5), reason: 'leave' },
      { id: 'raw-d3', personEmail: 'zoe.raw@example.com', delegateEmail: 'x@example.com', startsAt: hours(-3), endsAt: at, createdAt: hours(-4) },
      { id: 'raw-d4', personEmail: 'adam.raw@example.com', delegateEmail: 'x@example.com', startsAt: hours(1), endsAt: hours(3), createdAt: hours(-4) },
      { id: 'raw-d5', personEmail: 'adam.raw@example.com', delegateEmail: 'zoe.raw@example.com', startsAt: hours(-1), endsAt: hours(1), createdAt: hours(-1) },
    ];
    await db.delegation.createMany({ data: delegations.map((d) => ({ createdBy: 'admin@example.com', ...d })) });
    for (const emails of [['zoe.raw@example.com'], ['zoe.raw@example.com', 'adam.raw@example.com'], ['nobody@example.com'], []]) {
      const viaPrisma = await db.delegation.findMany({ where: { personEmail: { in: emails }, startsAt: { lte: at }, endsAt: { gt: at } }, orderBy: { createdAt: 'desc' } });
      expect(await delegationsActiveAt(db, emails, at), emails.join()).toStrictEqual(viaPrisma);
    }
    expect((await delegationsActiveAt(db, ['zoe.raw@example.com', 'adam.raw@example.com'], at)).map((d) => d.id)).toEqual(['raw-d5', 'raw-d2', 'raw-d1']);

    // An earlier try's seats: first round only, this attempt at this step only, by seat.
    await db.run.create({ data: { id: 'raw-seats', process: 'capex', status: 'running', title: 'Seats', requesterName: 'Alex', requesterEmail: 'alex.rivera@example.com', input: {}, settings: {}, trigger: 'api' } });
    const seatRow = (step: string, attempt: number, seat: number, round: number) => ({
      id: approvalRequestId('raw-seats', step, { attempt, seat, round }), runId: 'raw-seats', stepId: step, stepTitle: 'CFO', seat, round,
      approverEmail: 'sam.okafor@example.com', approverName: 'Sam', approverRole: 'cfo', expiresAt: at, tokenHash: `seat-${step}-${attempt}-${seat}-${round}`,
      factsSnapshot: [{ label: 'Amount', value: '1' }],
    });
    for (const row of [seatRow('cfo', 1, 1, 1), seatRow('cfo', 1, 0, 1), seatRow('cfo', 1, 0, 2), seatRow('cfo', 2, 0, 1), seatRow('cfo_x', 1, 0, 1)]) await db.approvalRequest.create({ data: row });
    for (const [step, attempt] of [['cfo', 1], ['cfo', 2], ['cfo', 3]] as const) {
      const prefix = approvalSeatsPrefix('raw-seats', step, attempt);
      const viaPrisma = await db.approvalRequest.findMany({ where: { runId: 'raw-seats', id: { startsWith: prefix }, round: 1 }, orderBy: { seat: 'asc' } });
      expect(await seatRequestsRecorded(db, 'raw-seats', prefix), prefix).toStrictEqual(viaPrisma);
    }
    expect((await seatRequestsRecorded(db, 'raw-seats', approvalSeatsPrefix('raw-seats', 'cfo', 1))).map((r) => r.seat)).toEqual([0, 1]);
  });

  it('a start writes the run row and its facts version as tx.run.create and createMany would', async () => {
    const db = stack.db;
    const process = findProcess('capex')!;
    const input = process.inputSchema.parse(capexInput({ title: 'Raw "row" ü', amount: 1234.56 }));
    const resolved = await resolveRunPolicy(db, process, undefined, true);
    for (const origin of [{ trigger: 'api' as const, startedBy: 'Ops.Desk@example.com' }, { trigger: 'event' as const, correlationKey: 'K-1' }]) {
      const viaPrisma = { ...runRow(process, `prisma-${origin.trigger}`, input, { a: 1 }, resolved, origin), status: 'not_started' };
      const viaRaw = { ...runRow(process, `raw-${origin.trigger}`, input, { a: 1 }, resolved, origin), status: 'not_started' };
      await db.run.create({ data: viaPrisma });
      const { facts, version } = factsOf(process, input);
      await db.runFactsVersion.createMany({ data: [{ runId: viaPrisma.id, version, facts: facts as never, input: input as never }], skipDuplicates: true });
      await db.$transaction(async (tx) => {
        await insertRunRow(tx, viaRaw);
        await recordFactsVersion(tx, process, viaRaw.id, input);
        await recordFactsVersion(tx, process, viaRaw.id, input); // a repeat is skipped, as skipDuplicates does
      });
      const [written, expected] = await Promise.all([db.run.findUniqueOrThrow({ where: { id: viaRaw.id } }), db.run.findUniqueOrThrow({ where: { id: viaPrisma.id } })]);
      expect({ ...written, id: '', startedAt: null, updatedAt: null }).toStrictEqual({ ...expected, id: '', startedAt: null, updatedAt: null });
      expect(Math.abs(written.startedAt.getTime() - expected.startedAt.getTime())).toBeLessThan(60_000);
      expect(written.updatedAt).toBeInstanceOf(Date);
      const versions = await db.runFactsVersion.findMany({ where: { runId: { in: [viaPrisma.id, viaRaw.id] } }, orderBy: { runId: 'asc' } });
      expect(versions).toHaveLength(2);
      expect({ ...versions[1], runId: '', createdAt: null }).toStrictEqual({ ...versions[0], runId: '', createdAt: null });
    }
  });
});
