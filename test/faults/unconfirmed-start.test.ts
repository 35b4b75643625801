import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prisma } from '../../lib/db.js';
import { capexInput } from '../support/fixtures.js';
import { getJson, postJson } from '../support/http.js';
import { startStack, terminateRuns, type Stack } from '../support/stack.js';

/**
 * A start whose answer was lost after Temporal took it leaves the run not_started although its workflow runs; the
 * health sweep finds the workflow and marks the run running. A not_started run whose workflow Temporal does not
 * know stays not_started, out of the list.
 */
describe('runs whose start was not confirmed', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
  });
  afterAll(async () => {
    if (stack) await terminateRuns(stack);
    await stack?.stop();
  });

  it('the sweep marks a not_started run running once Temporal has its workflow, and leaves one it does not have', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Answer lost', amount: 1_000 }) });
    expect(started.status).toBe(201);
    const lost: string = started.body.runId;
    // As the API leaves a run when the answer of its start is lost, a minute ago.
    const aMinuteAgo = new Date(Date.now() - 61_000);
    await stack.db.run.update({ where: { id: lost }, data: { status: 'not_started', startedAt: aMinuteAgo } });
    // And one whose start never reached Temporal: the same record under an id Temporal does not know.
    const { id: _id, ...row } = await stack.db.run.findUniqueOrThrow({ where: { id: lost } });
    const neverStarted = `capex-${randomUUID()}`;
    await stack.db.run.create({ data: { ...(row as Prisma.RunUncheckedCreateInput), id: neverStarted } });

    const listed = await getJson(`${stack.apiUrl}/runs?limit=100`);
    expect(listed.body.items.map((r: { runId: string }) => r.runId)).not.toContain(lost);
    const onlyNotStarted = await getJson(`${stack.apiUrl}/runs?status=not_started`);
    expect(onlyNotStarted.body.items.map((r: { runId: string }) => r.runId).sort()).toEqual([lost, neverStarted].sort());

    await stack.sweepRunHealth();
    expect((await stack.db.run.findUniqueOrThrow({ where: { id: lost } })).status).toBe('running');
    expect((await stack.db.run.findUniqueOrThrow({ where: { id: neverStarted } })).status).toBe('not_started');
  });
});
