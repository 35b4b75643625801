import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRevisionActivities } from '../../activities/revisions.js';
import { createDb, type Db } from '../../lib/db.js';
import { recordFactsVersion, runRow } from '../../lib/run-record.js';
import { findProcess } from '../../processes/index.js';
import { activityDeps } from '../support/activity-deps.js';
import { approvers, capexInput } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * recordRevision overwrites the run's input, and the old values live nowhere else: an attempt that dies after its
 * commit must not leave its retry an audit entry without them. The activity runs as the worker does (the runtime
 * role), called directly the way Temporal retries it.
 */
let stack: Stack;
let runtimeDb: Db;

beforeAll(async () => {
  stack = await startStack({ worker: 'none' });
  runtimeDb = createDb(stack.runtimeDatabaseUrl);
});
afterAll(async () => {
  await runtimeDb?.$disconnect();
  await stack?.stop();
});

/** The database as seen by a worker that dies right after its first transaction commits, before anything after it. */
function dyingAfterFirstCommit(db: Db): Db {
  let died = false;
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property !== '$transaction') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<Db['$transaction']>) => {
        const result = await (target.$transaction as (...a: unknown[]) => Promise<unknown>)(...args);
        if (died) return result;
        died = true;
        throw new Error('the worker died after the commit');
      };
    },
  });
}

describe('recording a revision', () => {
  it('a retry after the first attempt committed audits the old and the new values once', async () => {
    const capex = findProcess('capex')!;
    const runId = 'capex-revision-retry';
    const input = capexInput({ title: 'Laser cutter, revised', amount: 25_000, vendor: 'Trumpf' });
    await stack.db.$transaction(async (tx) => {
      await tx.run.create({ data: runRow(capex, runId, input, {}, { policy: {}, stamp: { version: 1, overridden: false } }, { trigger: 'api' }) });
      await recordFactsVersion(tx, capex, runId, input);
    });
    const requestId = `${runId}:finance-director:revision:1`;
    await createRevisionActivities(activityDeps(stack, runtimeDb)).openRevisionRequest({
      requestId,
      runId,
      stepId: 'finance-director',
      stepTitle: 'Finance director approval',
      expiresAt: Date.now() + 3_600_000,
      askedBy: { email: approvers.financeDirector, name: 'Priya Shah', role: 'role:finance-director' },
      comment: 'Get the premium model',
    });

    const revision = { requestId, runId, input: { ...input, amount: 99_000, vendor: 'Trumpf Premium' }, actorEmail: approvers.requester, comment: null };
    const firstAttempt = createRevisionActivities(activityDeps(stack, dyingAfterFirstCommit(runtimeDb)));
    await expect(firstAttempt.recordRevision(revision)).rejects.toThrow('the worker died after the commit');
    await createRevisionActivities(activityDeps(stack, runtimeDb)).recordRevision(revision);

    expect((await stack.db.run.findUniqueOrThrow({ where: { id: runId } })).input).toMatchObject({ amount: 99_000, vendor: 'Trumpf Premium' });
    const submitted = await stack.db.auditEntry.findMany({ where: { runId, action: 'revision.submitted' } });
    expect(submitted).toHaveLength(1);
    expect(submitted[0]!.details).toMatchObject({
      changes: [
        { field: 'amount', before: 25_000, after: 99_000 },
        { field: 'vendor', before: 'Trumpf', after: 'Trumpf Premium' },
      ],
      changed: ['amount', 'vendor'],
    });
  });
});
