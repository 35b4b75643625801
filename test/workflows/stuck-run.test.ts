import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { ConsoleClient } from '../support/console-client.js';
import { startStack, type RunningWorker, type Stack } from '../support/stack.js';

const brokenWorkflows = fileURLToPath(new URL('../support/broken-workflows.ts', import.meta.url));

/**
 * A run whose workflow task keeps failing (here: a worker deployed with code that throws for capex) shows as stuck
 * on GET /runs/:id, in the explorer's filter, in /healthz and its metric, and on the approver's page, instead of
 * "sent, not confirmed" for ever; with the worker fixed, it carries on.
 */
describe('a stuck run is visible', () => {
  let stack: Stack;
  let worker: RunningWorker;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none', decisionWaitMs: 3_000 });
    worker = await stack.startWorker();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('shows health: stuck with Temporal’s reason, degrades /healthz, and tells the approver it cannot be decided now', async () => {
    const { body } = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Stuck on a bad deploy', amount: 3_000 }), settings: quickTiming });
    const runId = body.runId as string;
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Stuck on a bad deploy/ });
    expect((await getJson(`${stack.apiUrl}/runs/${runId}`)).body.health).toEqual({ status: 'ok' });

    await worker.stop();
    worker = await stack.startWorker({ workflowsPath: brokenWorkflows });
    // The decision reaches a worker whose code throws: not confirmed, and the workflow task keeps failing.
    expect((await submitDecision(link, 'approve')).status).toBe(202);

    const stuck = await waitUntil(async () => {
      const { body: run } = await getJson(`${stack.apiUrl}/runs/${runId}`);
      return run.health.status === 'stuck' ? run.health : undefined;
    }, 'the run to show as stuck', 30_000);
    expect(stuck.reason).toContain("Cannot read properties of undefined (reading 'approvers')");
    expect(stuck.attempts).toBeGreaterThanOrEqual(2);

    expect(await stack.sweepRunHealth()).toMatchObject({ stuck: 1 });
    const health = await getJson(`${stack.apiUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'degraded', checks: { runs: { ok: false, stuck: 1, stuckRunIds: [runId] } } });
    expect((await getJson(`${stack.apiUrl}/runs?health=stuck`)).body.items.map((r: { runId: string }) => r.runId)).toEqual([runId]);
    expect(await (await fetch(`${stack.apiUrl}/metrics`)).text()).toMatch(/^opsflow_runs_stuck 1$/m);
    // Ops staff see it in the console: the explorer's stuck filter lists it, its page says why and what to do.
    const ops = new ConsoleClient(stack.apiUrl);
    await ops.signIn(stack.adminKey);
    const explorer = await ops.get('/ops/runs?health=stuck');
    expect(explorer.status).toBe(200);
    expect(explorer.html).toContain(`href="/ops/runs/${runId}"`);
    expect((await ops.get('/ops/runs?health=')).html).toContain(`href="/ops/runs/${runId}"`);
    const runPage = await ops.get(`/ops/runs/${runId}`);
    expect(runPage.html).toMatch(/id="run-stuck"[\s\S]*has failed \d+ times[\s\S]*reading (&#39;|')approvers/);
    const page = await fetch(link);
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('This request cannot be decided right now');
    // A post (from a page opened earlier) is told the same: the sweep has marked the run stuck.
    const posted = await submitDecision(link, 'approve', '', 'vitest-browser', '0'.repeat(64));
    expect(posted.status).toBe(503);
    expect(posted.html).toContain('This request cannot be decided right now');

    // The fix is deployed: the run takes the decision it was sent and completes; the sweep clears it.
    await worker.stop();
    worker = await stack.startWorker();
    await waitUntil(async () => (await getJson(`${stack.apiUrl}/runs/${runId}`)).body.health.status === 'ok' || undefined, 'the run to recover', 30_000);
    // No sweep since: the run's row still says stuck, so the post asks Temporal, which says it recovered.
    expect((await stack.db.run.findUniqueOrThrow({ where: { id: runId } })).stuckSince).not.toBeNull();
    const again = await submitDecision(link, 'approve');
    expect([200, 409]).toContain(again.status);
    await waitForRunStatus(stack, runId, 'completed');
    expect(await stack.sweepRunHealth()).toMatchObject({ stuck: 0 });
    expect((await ops.get('/ops/runs?health=stuck')).html).not.toContain(`href="/ops/runs/${runId}"`);
    expect((await ops.get(`/ops/runs/${runId}`)).html).not.toContain('id="run-stuck"');
    expect((await getJson(`${stack.apiUrl}/healthz`)).body.status).toBe('ok');
  });
});
