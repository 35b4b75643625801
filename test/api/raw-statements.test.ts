import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApprovalWithRun, runWithOpenRequests } from '../../api/approval-service.js';
import { createApprovalActivities, recordLinkRequest, seatRequestsRecorded, type DecisionRecord, type LinkRequestRow } from '../../activities/approvals.js';
import { recordMailSending, type OutgoingEmail } from '../../activities/email.js';
import { delegationsActiveAt, personByEmail, roleHolders } from '../../activities/records.js';
import { approvalRequestId, approvalSeatsPrefix } from '../../processes/approval-messages.js';
import { createDb, defaultDbPoolSettings, Prisma } from '../../lib/db.js';
import { currentPolicy, resolveRunPolicy, unknownRoleIssues } from '../../lib/policy-store.js';
import { insertRunRow, recordFactsVersion, runRow, updateRunRow, type RunChanges } from '../../lib/run-record.js';
import { factsOf, findProcess } from '../../processes/index.js';
import { capexInput } from '../support/fixtures.js';
import { activityDeps } from '../support/activity-deps.js';
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

  /** Two runs alike but for their ids, for writing one through Prisma and the other raw. */
  async function twinRuns(db: Stack['db'], prefix: string): Promise<[string, string]> {
    const ids: [string, string] = [`${prefix}-prisma`, `${prefix}-raw`];
    for (const id of ids) {
      await db.run.create({
        data: { id, process: 'capex', status: 'running', title: 'Twin "ü"', requesterName: 'Alex', requesterEmail: 'alex.rivera@example.com', input: { a: [1, null] }, settings: {}, amount: 12.5, currency: 'EUR', trigger: 'api' },
      });
    }
    return ids;
  }
  const without = <T extends object>(row: T, ...columns: Array<keyof T>) => ({ ...row, ...Object.fromEntries(columns.map((c) => [c, null])) });

  it("a step's opening and a run's close update the run as tx.run.update would", async () => {
    const db = stack.db;
    const [viaPrisma, viaRaw] = await twinRuns(db, 'raw-update');
    const changes: RunChanges[] = [
      { currentStep: 'cfo' },
      { currentStep: null },
      { status: 'completed', outcome: 'approved', closedAt: new Date('2026-03-04T05:06:07.089Z'), currentStep: null },
      { status: 'failed', failureReason: 'ERP said "no" ü' },
    ];
    for (const change of changes) {
      const before = new Date();
      const expected = await db.run.update({ where: { id: viaPrisma }, data: change });
      const written = await db.$transaction((tx) => updateRunRow(tx, viaRaw, change));
      expect(without(written, 'id', 'startedAt', 'updatedAt'), JSON.stringify(change)).toStrictEqual(without(expected, 'id', 'startedAt', 'updatedAt'));
      expect(await db.run.findUniqueOrThrow({ where: { id: viaRaw } })).toStrictEqual(written);
      // updatedAt as @updatedAt sets it: this moment, in UTC whatever the session's time zone.
      expect(written.updatedAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
      expect(written.updatedAt.getTime()).toBeLessThanOrEqual(Date.now());
    }
    await expect(updateRunRow(db, 'raw-update-no-such-run', { currentStep: 'cfo' })).rejects.toMatchObject({ code: 'P2025' });
  });

  it('a link request and a mail are recorded as createManyAndReturn with skipDuplicates would, once', async () => {
    const db = stack.db;
    const deps = activityDeps(stack);
    const [run] = await twinRuns(db, 'raw-link');
    const minimal: LinkRequestRow = { id: 'raw-link-min', runId: run, stepId: 'cfo', stepTitle: 'CFO', approverEmail: 'sam.okafor@example.com', approverName: 'Sam', approverRole: 'cfo', expiresAt: new Date('2026-09-01T10:00:00.500Z') };
    const full: LinkRequestRow = { ...minimal, id: 'raw-link-full', kind: 'revision', seat: 2, round: 3, onBehalfOf: 'priya.shah@example.com', comment: 'Say "why" ü' };
    for (const row of [minimal, full]) {
      const link = await recordLinkRequest(deps, row);
      const written = await db.approvalRequest.findUniqueOrThrow({ where: { id: row.id } });
      const [expected] = await db.approvalRequest.createManyAndReturn({
        data: [{ ...row, id: `${row.id}-prisma`, tokenHash: `${row.id}-prisma`, tokenNonce: written.tokenNonce, tokenKeyId: written.tokenKeyId }],
        skipDuplicates: true,
      });
      expect(without(written, 'id', 'tokenHash', 'createdAt'), row.id).toStrictEqual(without(expected!, 'id', 'tokenHash', 'createdAt'));
      expect(Math.abs(written.createdAt.getTime() - expected!.createdAt.getTime())).toBeLessThan(60_000);
      // The link's token is what the row keeps the hash of; a retry keeps the row and mails the same link.
      expect(link.startsWith(`${stack.apiUrl}/approvals/`)).toBe(true);
      expect(await recordLinkRequest(deps, { ...row, stepTitle: 'changed' })).toBe(link);
      expect(await db.approvalRequest.findUniqueOrThrow({ where: { id: row.id } })).toStrictEqual(written);
    }

    const mail = (key: string): OutgoingEmail => ({ idempotencyKey: key, runId: run, kind: 'approval.request', to: 'sam.okafor@example.com', email: { subject: 'Subject "ü"', text: 't', html: '<p>t</p>' } }) as OutgoingEmail;
    const attemptStarted = new Date();
    const recorded = await recordMailSending(db, mail('raw-mail-1'), attemptStarted);
    expect(recorded.status).toBe('sending');
    expect(recorded.createdAt.getTime()).toBeGreaterThanOrEqual(attemptStarted.getTime());
    const [expected] = await db.outboundEmail.createManyAndReturn({
      data: [{ idempotencyKey: 'raw-mail-2', runId: run, kind: 'approval.request', to: 'sam.okafor@example.com', subject: 'Subject "ü"', status: 'sending', messageId: '<raw-mail-1@opsflow>' }],
      skipDuplicates: true,
    });
    const written = await db.outboundEmail.findUniqueOrThrow({ where: { idempotencyKey: 'raw-mail-1' } });
    expect(without(written, 'idempotencyKey', 'createdAt')).toStrictEqual(without(expected!, 'idempotencyKey', 'createdAt'));
    expect(written.createdAt).toStrictEqual(recorded.createdAt);
    // A later attempt finds the row its predecessor kept (and so knows the mail may have gone).
    await db.outboundEmail.update({ where: { idempotencyKey: 'raw-mail-1' }, data: { status: 'sent' } });
    expect(await recordMailSending(db, mail('raw-mail-1'), new Date())).toMatchObject({ status: 'sent', createdAt: recorded.createdAt });
  });

  it('a decision is written on its request as updateManyAndReturn would, the first one only', async () => {
    const db = stack.db;
    const deps = activityDeps(stack);
    const [run] = await twinRuns(db, 'raw-decision');
    const request = (id: string) => ({ id, runId: run, stepId: 'cfo', stepTitle: 'CFO', approverEmail: 'sam.okafor@example.com', approverName: 'Sam', approverRole: 'cfo', onBehalfOf: 'priya.shah@example.com', tokenHash: id, expiresAt: new Date(Date.now() + 3_600_000) });
    await db.approvalRequest.createMany({ data: [request('raw-decision-prisma'), request('raw-decision-raw')] });
    const decision: DecisionRecord = {
      requestId: 'raw-decision-raw', runId: run, stepId: 'cfo', decision: 'rejected', comment: 'Too "much" ü', actorEmail: 'sam.okafor@example.com', channel: 'link',
      decidedAt: Date.parse('2026-05-06T07:08:09.123Z'), version: 'a'.repeat(64), facts: [{ label: 'Amount', value: '€12.50' }] as DecisionRecord['facts'],
    };
    await createApprovalActivities(deps).recordDecision(decision);
    await db.approvalRequest.updateManyAndReturn({
      where: { id: 'raw-decision-prisma', usedAt: null },
      data: { usedAt: new Date(decision.decidedAt), decision: decision.decision, comment: decision.comment, decidedBy: decision.actorEmail, decidedVersion: decision.version, factsSnapshot: decision.facts as never },
    });
    const [expected, written] = await Promise.all(['raw-decision-prisma', 'raw-decision-raw'].map((id) => db.approvalRequest.findUniqueOrThrow({ where: { id } })));
    expect(without(written!, 'id', 'tokenHash', 'createdAt')).toStrictEqual(without(expected!, 'id', 'tokenHash', 'createdAt'));
    // The decision's entry names whom the approver acted for, which the update gave back.
    const entry = await db.auditEntry.findUniqueOrThrow({ where: { eventKey: 'raw-decision-raw:decided' } });
    expect(entry).toMatchObject({ action: 'approval.decided', actor: 'sam.okafor@example.com', onBehalfOf: 'priya.shah@example.com' });
    // A second decision on the same request changes nothing: the first write wins.
    await createApprovalActivities(deps).recordDecision({ ...decision, decision: 'approved', comment: null, decidedAt: Date.now() });
    expect(await db.approvalRequest.findUniqueOrThrow({ where: { id: 'raw-decision-raw' } })).toStrictEqual(written);
  });

  it("an integration's read of a run and its open requests gives what Prisma's two reads give", async () => {
    const db = stack.db;
    const [run, other] = await twinRuns(db, 'raw-open');
    const now = new Date('2026-07-01T12:00:00.000Z');
    const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
    const request = (id: string, extra: Record<string, unknown> = {}) => ({
      id, runId: run, stepId: 'cfo', stepTitle: 'CFO "ü"', approverEmail: 'sam.okafor@example.com', approverName: 'Sam', approverRole: 'cfo', tokenHash: id, expiresAt: at(60), ...extra,
    });
    await db.approvalRequest.createMany({
      data: [
        request('raw-open-later', { createdAt: at(-1), onBehalfOf: 'priya.shah@example.com' }),
        request('raw-open-oldest', { createdAt: at(-5), stepId: 'finance', stepTitle: 'Finance' }),
        request('raw-open-used', { createdAt: at(-4), usedAt: at(-2), decision: 'approved' }),
        request('raw-open-revoked', { createdAt: at(-4), revokedAt: at(-2), revokedReason: 'reassigned' }),
        request('raw-open-expired', { createdAt: at(-4), expiresAt: now }),
        request('raw-open-someone-else', { createdAt: at(-4), approverEmail: 'morgan.lee@example.com' }),
        request('raw-open-task', { createdAt: at(-4), kind: 'task' }),
      ],
    });
    for (const [runId, email] of [[run, 'sam.okafor@example.com'], [run, 'morgan.lee@example.com'], [run, 'nobody@example.com'], [other, 'sam.okafor@example.com'], ['raw-open-no-such-run', 'sam.okafor@example.com']] as const) {
      const [expectedRun, expectedOpen] = await db.$transaction([
        db.run.findUnique({ where: { id: runId } }),
        db.approvalRequest.findMany({ where: { runId, kind: 'decision', approverEmail: email, usedAt: null, revokedAt: null, expiresAt: { gt: now } }, orderBy: { createdAt: 'asc' } }),
      ]);
      const found = await runWithOpenRequests(db, runId, email, now);
      const expected = expectedRun && {
        run: { process: expectedRun.process, title: expectedRun.title, status: expectedRun.status, input: expectedRun.input },
        open: expectedOpen.map((a) => ({ id: a.id, stepId: a.stepId, stepTitle: a.stepTitle, expiresAt: a.expiresAt, onBehalfOf: a.onBehalfOf })),
      };
      expect(found, `${runId} ${email}`).toStrictEqual(expected);
    }
    expect((await runWithOpenRequests(db, run, 'sam.okafor@example.com', now))?.open.map((a) => a.id)).toEqual(['raw-open-oldest', 'raw-open-later']);
  });
});
