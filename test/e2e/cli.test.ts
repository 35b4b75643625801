import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { buyer, erpEvent, sendEvent } from '../support/events.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { getRun, startRun, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI as a process (what `npm run opsflow --` runs), with no profile file unless the test writes one. */
function opsflow(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/opsflow.ts', ...args], {
      cwd: root,
      env: { ...process.env, OPSFLOW_URL: undefined, OPSFLOW_KEY: undefined, OPSFLOW_PROFILE: undefined, OPSFLOW_CONFIG: join(tmpdir(), 'opsflow-no-config.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the opsflow CLI against the running API', () => {
  let stack: Stack;
  let as: (key: string) => Record<string, string>;
  beforeAll(async () => {
    stack = await startStack();
    as = (key) => ({ OPSFLOW_URL: stack.apiUrl, OPSFLOW_KEY: key });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('starts a capex run, lists it, each approver approves with their own key, and shows it completed (table and --json)', async () => {
    const input = JSON.stringify(capexInput({ title: 'Laser cutter from the CLI', amount: 25_000 }));
    const started = await opsflow(['runs', 'start', 'capex', '--input', input, '--settings', JSON.stringify(quickTiming)], as(stack.adminKey));
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const runId = /^run:\s+(capex-\S+)$/m.exec(started.stdout)?.[1];
    expect(runId, started.stdout).toBeDefined();

    const listed = await opsflow(['runs', 'list', '--process', 'capex'], as(stack.adminKey));
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^RUN\s+PROCESS\s+STATUS\s+STEP/);
    expect(listed.stdout).toMatch(new RegExp(`^${runId}\\s+capex\\s+running\\s`, 'm'));
    const listedJson = await opsflow(['runs', 'list', '--json', '--status', 'running'], as(stack.adminKey));
    expect(JSON.parse(listedJson.stdout).items).toContainEqual(expect.objectContaining({ runId, status: 'running', title: 'Laser cutter from the CLI' }));

    // Each approver's own key: Morgan's made in the test, Priya's made with the CLI itself.
    const morgan = await stack.createKey(approvers.lineManager, ['decisions:write']);
    const madeForPriya = await opsflow(['keys', 'create', '--name', 'Priya CLI', '--email', approvers.financeDirector, '--scopes', 'decisions:write,runs:read', '--json'], as(stack.adminKey));
    expect(madeForPriya.code).toBe(0);
    const priya = JSON.parse(madeForPriya.stdout) as { id: string; key: string; personEmail: string };
    expect(priya.personEmail).toBe(approvers.financeDirector);

    await waitForApprovalMail(stack, approvers.lineManager, { subject: /Laser cutter from the CLI/ });
    const morgansInbox = await opsflow(['approvals', 'list'], as(morgan));
    expect(morgansInbox.stdout).toMatch(new RegExp(`^${runId}\\s+line-manager\\s+capex\\s`, 'm'));
    expect((await opsflow(['approvals', 'list', '--json'], as(priya.key))).stdout).not.toContain(runId);
    const byMorgan = await opsflow(['approvals', 'decide', runId!, 'approve', '--comment', 'Fits the budget'], as(morgan));
    expect(byMorgan.stderr).toBe('');
    expect(byMorgan.stdout).toMatch(/^decision:\s+approved$/m);

    await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Laser cutter from the CLI/ });
    const priyasInbox = JSON.parse((await opsflow(['approvals', 'list', '--json'], as(priya.key))).stdout) as { items: Array<{ runId: string; step: string }> };
    expect(priyasInbox.items).toContainEqual(expect.objectContaining({ runId, step: 'finance-director' }));
    const byPriya = await opsflow(['approvals', 'decide', runId!, 'approve', '--json'], as(priya.key));
    expect(byPriya.code).toBe(0);
    expect(JSON.parse(byPriya.stdout)).toMatchObject({ decision: 'approved' });

    // Completed as the CLI shows it: poll `runs show --json` (the worker closes the run after the last decision).
    let shown: { status: string; outcome: string | null; approvals: Array<{ step: string; state: string; decidedBy: string | null }> } | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      shown = JSON.parse((await opsflow(['runs', 'show', runId!, '--json'], as(stack.adminKey))).stdout);
      if (shown?.status === 'completed') break;
    }
    expect(shown).toMatchObject({ status: 'completed', outcome: 'approved' });
    expect(shown!.approvals.map((a) => [a.step, a.state, a.decidedBy])).toEqual([
      ['line-manager', 'approved', approvers.lineManager],
      ['finance-director', 'approved', approvers.financeDirector],
    ]);
    const table = await opsflow(['runs', 'show', runId!], as(stack.adminKey));
    expect(table.stdout).toMatch(/^status:\s+completed$/m);
    expect(table.stdout).toMatch(new RegExp(`^line-manager\\s+${approvers.lineManager}\\s+approved\\s`, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^finance-director\\s+${approvers.financeDirector}\\s+approved\\s`, 'm'));

    // The key made with the CLI is listed, revoked, and refused afterwards.
    expect((await opsflow(['keys', 'list'], as(stack.adminKey))).stdout).toMatch(new RegExp(`^${priya.id}\\s+${approvers.financeDirector}\\s+active\\s`, 'm'));
    expect((await opsflow(['keys', 'revoke', priya.id], as(stack.adminKey))).code).toBe(0);
    const afterRevoke = await opsflow(['approvals', 'list'], as(priya.key));
    expect(afterRevoke.code).toBe(2);
  });

  it('a bad key is one line on stderr and exit code 2; API errors exit 1, an unreachable API 3, bad usage 2', async () => {
    const badKey = await opsflow(['runs', 'list'], as('opk_AAAAAAAAAAAA_' + 'x'.repeat(43)));
    expect(badKey.code).toBe(2);
    expect(badKey.stdout).toBe('');
    expect(badKey.stderr).toBe('opsflow: 401 unauthorized: This API key is not valid or was revoked\n');

    const lacksScope = await opsflow(['keys', 'list'], as(await stack.createKey(approvers.lineManager, ['runs:read'])));
    expect(lacksScope.code).toBe(2);
    expect(lacksScope.stderr).toBe('opsflow: 403 forbidden: This API key lacks the "admin" scope\n');

    const notFound = await opsflow(['runs', 'show', 'capex-nope'], as(stack.adminKey));
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toBe('opsflow: 404 not_found: No run capex-nope\n');
    const invalid = await opsflow(['runs', 'start', 'capex', '--input', JSON.stringify(capexInput({ amount: -1 }))], as(stack.adminKey));
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toBe('opsflow: 422 validation_failed: Input for capex is invalid (input.amount: must be greater than 0)\n');

    const unreachable = await opsflow(['runs', 'list'], { OPSFLOW_URL: 'http://127.0.0.1:9', OPSFLOW_KEY: stack.adminKey });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^opsflow: cannot reach the API: .+\n$/);
    const noKey = await opsflow(['runs', 'list'], { OPSFLOW_URL: stack.apiUrl });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/^opsflow: no API key: set OPSFLOW_KEY/);
    expect((await opsflow(['runs', 'frobnicate'], as(stack.adminKey))).code).toBe(2);
  });

  it('cancels a run only with a reason, which the run records', async () => {
    const runId = (await startRun(stack, { process: 'capex', input: capexInput({ title: 'Cancelled from the CLI', amount: 3_000 }), settings: quickTiming })).run!.runId;
    const noReason = await opsflow(['runs', 'cancel', runId], as(stack.adminKey));
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/^error: required option '--reason <text>' not specified$/m);
    expect((await getRun(stack, runId)).status).toBe('running');

    const cancelled = await opsflow(['runs', 'cancel', runId, '--reason', 'Bought second-hand'], as(stack.adminKey));
    expect(cancelled.stderr).toBe('');
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toMatch(new RegExp(`^run:\\s+${runId}$`, 'm'));
    expect(cancelled.stdout).toMatch(/^status:\s+cancelling$/m);
    const run = await waitForRunStatus(stack, runId, 'cancelled');
    expect(run.timeline.find((e) => e.action === 'run.cancelled')).toMatchObject({ actor: 'ops.desk@example.com', details: { outcome: 'cancelled', reason: 'cancelled by ops.desk@example.com: Bought second-hand' } });
    const again = await opsflow(['runs', 'cancel', runId, '--reason', 'Twice'], as(stack.adminKey));
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`opsflow: 409 conflict: Run ${runId} is already cancelled\n`);
  });

  it('routes an event again: an unmatched one is routed and says why it is still unmatched, one that started a run is refused', async () => {
    const unknown = await sendEvent(stack, erpEvent('invoice.disputed', { poNumber: 'PO-CLI-1' }));
    expect(unknown.body.status).toBe('unmatched');
    const routed = await opsflow(['events', 'route', unknown.body.eventId], as(stack.adminKey));
    expect(routed.stderr).toBe('');
    expect(routed.code).toBe(0);
    expect(routed.stdout).toMatch(new RegExp(`^event:\\s+${unknown.body.eventId}$`, 'm'));
    expect(routed.stdout).toMatch(/^status:\s+unmatched$/m);
    expect(routed.stdout).toMatch(/^reason:\s+no process reacts to invoice\.disputed from erp$/m);
    const routedJson = JSON.parse((await opsflow(['events', 'route', unknown.body.eventId, '--json'], as(stack.adminKey))).stdout);
    expect(routedJson).toMatchObject({ eventId: unknown.body.eventId, status: 'unmatched', runId: null });

    const po = `PO-CLI-${randomUUID().slice(0, 8)}`;
    const invoice = await sendEvent(stack, erpEvent('invoice.received', { invoiceNumber: `INV-${po}`, poNumber: po, supplier: 'Acme', amount: 90, currency: 'EUR', buyer }));
    expect(invoice.body.status).toBe('started');
    const refused = await opsflow(['events', 'route', invoice.body.eventId], as(stack.adminKey));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`opsflow: 409 conflict: Event ${invoice.body.eventId} was already started (run ${invoice.body.runId})\n`);
    const lacksScope = await opsflow(['events', 'route', unknown.body.eventId], as(await stack.createKey(approvers.lineManager, ['runs:read'])));
    expect(lacksScope.code).toBe(2);
  });

  it('reads the URL and key from a profile file, and shows a policy and the events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsflow-cli-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ defaultProfile: 'test', profiles: { test: { url: stack.apiUrl, key: stack.adminKey }, broken: { url: stack.apiUrl, key: 'opk_nope' } } }));
    const policy = await opsflow(['policy', 'show', 'capex', '--json'], { OPSFLOW_CONFIG: config });
    expect(policy.code).toBe(0);
    expect(JSON.parse(policy.stdout)).toMatchObject({ process: 'capex', version: 1 });
    const broken = await opsflow(['--profile', 'broken', 'events', 'list'], { OPSFLOW_CONFIG: config });
    expect(broken.code).toBe(2);
    const events = await opsflow(['events', 'list', '--json'], { OPSFLOW_CONFIG: config });
    expect(JSON.parse(events.stdout)).toEqual({ items: expect.any(Array) });
    expect((await opsflow(['--profile', 'missing', 'events', 'list'], { OPSFLOW_CONFIG: config })).stderr).toMatch(/no profile "missing"/);
  });
});
