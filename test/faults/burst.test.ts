import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capexInput } from '../support/fixtures.js';
import { startStack, terminateRuns, type Stack } from '../support/stack.js';

/**
 * 256 concurrent POST /runs against an API process (its own pool and run-start limiter, README Reliability): every
 * answer is 201, or 503/429 with Retry-After and the error shape; never a 500; every accepted run exists, in the
 * API and in Temporal. Once with the limiter (4 at once, 8 waiting) far below the burst, so starts are surely shed,
 * and once with the settings a deployment gets by default.
 */
const BURST = 256;

describe('a burst of run starts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
  });
  afterAll(async () => {
    if (stack) await terminateRuns(stack);
    await stack?.stop();
  });

  /** Sends the burst; checks every answer and that the database and Temporal hold exactly the accepted runs. */
  async function burst(apiUrl: string, { mustShed }: { mustShed: boolean }) {
    const before = await stack.db.run.count();
    const answers = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const response = await fetch(`${apiUrl}/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminKey}` },
          body: JSON.stringify({ process: 'capex', input: capexInput({ title: `Burst ${i}`, amount: 1_000 + i }) }),
        });
        return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, any> };
      }),
    );
    const byStatus: Record<string, typeof answers> = {};
    for (const answer of answers) (byStatus[String(answer.status)] ??= []).push(answer);
    expect(Object.keys(byStatus).filter((status) => !['201', '503', '429'].includes(status))).toEqual([]);
    const accepted = byStatus['201'] ?? [];
    const shed = [...(byStatus['503'] ?? []), ...(byStatus['429'] ?? [])];
    expect(accepted.length).toBeGreaterThan(0);
    if (mustShed) expect(shed.length).toBeGreaterThan(0);
    for (const answer of shed) {
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(answer.body.error).toMatchObject({ code: expect.stringMatching(/^(unavailable|rate_limited)$/), message: expect.any(String) });
    }

    const runIds = accepted.map((a) => a.body.runId as string);
    expect(new Set(runIds).size).toBe(accepted.length);
    for (const runId of runIds) {
      const run = await fetch(`${apiUrl}/runs/${runId}`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
      expect(run.status).toBe(200);
      expect(((await run.json()) as { status: string }).status).toBe('running');
      const description = await stack.temporal.workflow.getHandle(runId).describe();
      expect(description.status.name).toBe('RUNNING');
    }
    // Nothing shed left a run behind: the database holds exactly the accepted runs.
    expect((await stack.db.run.count()) - before).toBe(accepted.length);
    return { accepted: accepted.length, shed: shed.length };
  }

  it(`${BURST} concurrent POST /runs past a small limiter: only 201 or 503/429 with Retry-After, and every accepted run exists`, async () => {
    const { url } = await stack.startApiProcess({ env: { RUN_START_CONCURRENCY: '4', RUN_START_QUEUE: '8', DATABASE_POOL_MAX: '20' } });
    await burst(url, { mustShed: true });
  });

  it(`${BURST} concurrent POST /runs with the default pool and limiter: only 201 or 503/429, never a 500`, async () => {
    const { url } = await stack.startApiProcess();
    const { accepted, shed } = await burst(url, { mustShed: false });
    console.log(`[burst] defaults: ${accepted} accepted, ${shed} shed of ${BURST}`);
  });
});
