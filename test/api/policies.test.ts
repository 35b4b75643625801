import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { approvers, capexInput } from '../support/fixtures.js';
import { ConsoleClient } from '../support/console-client.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, terminateRuns, type Stack } from '../support/stack.js';

async function putJson(url: string, body: unknown, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/**
 * Policies are admin-owned, versioned data. This stack runs with production's bounds (no short durations), so the
 * bounds a company gets are the ones tested.
 */
describe('process policies', () => {
  let stack: Stack;
  let adminKey: string;
  let admin: Record<string, string>;
  let reader: Record<string, string>;
  beforeAll(async () => {
    stack = await startStack({ allowShortDurations: false });
    adminKey = await stack.createKey('dana.whitfield@example.com', ['policies:write', 'runs:read', 'runs:start:capex', 'runs:act-for-others']);
    admin = { authorization: `Bearer ${adminKey}` };
    reader = { authorization: `Bearer ${await stack.createKey(approvers.requester, ['runs:read', 'runs:start:capex'])}` };
  });
  afterAll(async () => {
    if (stack) await terminateRuns(stack);
    await stack?.stop();
  });

  const policyUrl = () => `${stack.apiUrl}/processes/capex/policy`;

  it('starts from the process defaults as version 1, readable with runs:read, with its schema and bounds', async () => {
    const { status, body } = await getJson(policyUrl(), reader);
    expect(status).toBe(200);
    expect(body).toMatchObject({ process: 'capex', version: 1, createdBy: 'opsflow', reason: 'built-in default', bounds: { minimumSla: '1h' } });
    expect(body.policy).toMatchObject({
      thresholds: { financeDirectorFrom: 10_000, cfoFrom: 100_000 },
      steps: { cfo: { approvers: ['role:cfo'] } },
      separationOfDuties: { onePersonOneStep: true },
    });
    expect(body.schema.properties.approval.properties.onTimeout.enum).toEqual(['escalate', 'expire', 'reject', 'approve']);
    expect((await getJson(policyUrl())).status).toBe(200);
    expect((await getJson(policyUrl(), { authorization: `Bearer ${await stack.createKey(approvers.requester, ['decisions:write'])}` })).status).toBe(403);
    expect((await getJson(`${stack.apiUrl}/processes/nope/policy`, reader)).status).toBe(404);
  });

  it('refuses bad policies with the field path and changes nothing', async () => {
    const { body: current } = await getJson(policyUrl(), reader);
    const change = (patch: (p: any) => void, reason = 'tighten routing') => {
      const policy = structuredClone(current.policy);
      patch(policy);
      return putJson(policyUrl(), { policy, reason }, admin);
    };
    const issuesOf = (answer: { body: Record<string, any> }) => answer.body.error.details.issues as Array<{ path: string; message: string }>;

    const unknownRole = await change((p) => (p.steps.cfo.approvers = ['role:chief-yes-officer']));
    expect(unknownRole.status).toBe(422);
    expect(issuesOf(unknownRole)).toEqual([{ path: 'policy.steps.cfo.approvers.0', message: 'unknown role "chief-yes-officer": nobody in the directory holds it' }]);
    const tooShort = await change((p) => (p.approval.reminderAfter = '30m'));
    expect(issuesOf(tooShort)).toEqual([{ path: 'policy.approval.reminderAfter', message: 'must be at least 1h' }]);
    const unbounded = await change((p) => (p.steps['line-manager'].onTimeout = 'approve'));
    expect(issuesOf(unbounded)).toEqual([{ path: 'policy.steps.line-manager.approveAtDeadlineBelow', message: 'is required when onTimeout is "approve"' }]);
    const toPerson = await change((p) => (p.approval.escalateTo = 'person:alex.rivera@example.com'));
    expect(issuesOf(toPerson)[0]!.path).toBe('policy.approval.escalateTo');
    const typo = await change((p) => (p.thresholds.cfoFrm = 5));
    expect(typo.status).toBe(422);
    expect(issuesOf(typo)[0]!.path).toBe('policy.thresholds');
    const noReason = await putJson(policyUrl(), { policy: current.policy }, admin);
    expect(issuesOf(noReason)[0]!.path).toBe('reason');
    expect((await putJson(policyUrl(), { policy: current.policy, reason: 'mine now' }, reader)).status).toBe(403);

    expect((await getJson(policyUrl(), reader)).body.version).toBe(1);
    expect(await stack.db.auditEntry.count({ where: { action: 'policy.changed' } })).toBe(0);
  });

  it('versions each change with who, when and why, audits it, and leaves open runs on the version they started with', async () => {
    const before = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Before the policy change', amount: 3_000 }) }, admin);
    expect(before.status).toBe(201);
    await waitForApprovalMail(stack, approvers.lineManager, { subject: /Before the policy change/ });

    const { body: v1 } = await getJson(policyUrl(), reader);
    const lowered = structuredClone(v1.policy);
    lowered.thresholds.financeDirectorFrom = 2_000;
    lowered.approval.timeout = '2d';
    const saved = await putJson(policyUrl(), { policy: lowered, reason: 'Audit finding 2026-14: finance sees everything from 2,000', basedOn: 1 }, admin);
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ version: 2, createdBy: 'dana.whitfield@example.com', reason: 'Audit finding 2026-14: finance sees everything from 2,000' });
    const stale = await putJson(policyUrl(), { policy: lowered, reason: 'again, from an old page', basedOn: 1 }, admin);
    expect(stale.status).toBe(409);

    const versions = await getJson(`${policyUrl()}/versions`, reader);
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect((await getJson(`${policyUrl()}/versions/1`, reader)).body.policy.thresholds.financeDirectorFrom).toBe(10_000);
    const [audit] = await stack.db.auditEntry.findMany({ where: { action: 'policy.changed' } });
    expect(audit).toMatchObject({ actor: 'dana.whitfield@example.com', runId: null });
    expect(audit!.details).toMatchObject({
      process: 'capex',
      version: 2,
      previousVersion: 1,
      reason: 'Audit finding 2026-14: finance sees everything from 2,000',
      before: { thresholds: { financeDirectorFrom: 10_000 } },
      after: { thresholds: { financeDirectorFrom: 2_000 }, approval: { timeout: '2d' } },
    });

    // The run started under version 1 keeps it: 3,000 needs only the line manager there.
    const old = await getJson(`${stack.apiUrl}/runs/${before.body.runId}`, reader);
    expect(old.body.policy).toMatchObject({ version: 1, overridden: false, effective: { thresholds: { financeDirectorFrom: 10_000 } } });
    const after = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'After the policy change', amount: 3_000 }) }, admin);
    const fresh = await getJson(`${stack.apiUrl}/runs/${after.body.runId}`, reader);
    expect(fresh.body.policy).toMatchObject({ version: 2, effective: { thresholds: { financeDirectorFrom: 2_000 } } });
    expect(fresh.body.timeline.find((e: { action: string }) => e.action === 'run.started')).toMatchObject({
      actor: 'dana.whitfield@example.com',
      details: { requester: approvers.requester, startedBy: 'dana.whitfield@example.com', policyVersion: 2 },
    });
  });

  it('a run follows the policy it started with, whatever the policy says when its steps come: steps, approvers and the version shown', async () => {
    const { body: current } = await getJson(policyUrl(), reader);
    /** Saves the current policy with the finance director from this amount; returns the new version. */
    const financeDirectorFrom = async (amount: number) => {
      const { body: latest } = await getJson(policyUrl(), reader);
      const policy = structuredClone(latest.policy);
      policy.thresholds.financeDirectorFrom = amount;
      const saved = await putJson(policyUrl(), { policy, reason: `finance director from ${amount}`, basedOn: latest.version }, admin);
      expect(saved.status).toBe(200);
      return saved.body.version as number;
    };
    const start = async (title: string) => {
      const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 5_000 }) }, admin);
      expect(started.status).toBe(201);
      return { runId: started.body.runId as string, morgan: await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) }) };
    };

    // 5,000 EUR needs only the line manager under `lenient`, and the finance director too under `strict`.
    const lenient = await financeDirectorFrom(10_000);
    expect(lenient).toBe(current.version + 1);
    const startedLenient = await start('Started under the lenient policy');
    const strict = await financeDirectorFrom(2_000);
    const startedStrict = await start('Started under the strict policy');

    // The strict policy is in force when the lenient run's line manager approves: the run still ends there.
    expect((await submitDecision(startedLenient.morgan.link, 'approve')).status).toBe(200);
    const lenientRun = await waitForRunStatus(stack, startedLenient.runId, 'completed');
    expect(lenientRun.approvals.map((a: { step: string }) => a.step)).toEqual(['line-manager']);
    expect(await stack.db.approvalRequest.count({ where: { runId: startedLenient.runId, approverEmail: approvers.financeDirector } })).toBe(0);

    // The lenient policy is back in force when the strict run's line manager approves: the finance director is still asked.
    await financeDirectorFrom(10_000);
    expect((await submitDecision(startedStrict.morgan.link, 'approve')).status).toBe(200);
    const priya = await waitForApprovalMail(stack, approvers.financeDirector, { subject: /Started under the strict policy/ });
    expect((await submitDecision(priya.link, 'approve')).status).toBe(200);
    const strictRun = await waitForRunStatus(stack, startedStrict.runId, 'completed');
    expect(strictRun.approvals.map((a: { step: string; approver: { email: string } }) => [a.step, a.approver.email])).toEqual([
      ['line-manager', approvers.lineManager],
      ['finance-director', approvers.financeDirector],
    ]);

    // Both show the version they started with, on the API and on the console's run page.
    expect(lenientRun.policy).toMatchObject({ version: lenient, effective: { thresholds: { financeDirectorFrom: 10_000 } } });
    expect(strictRun.policy).toMatchObject({ version: strict, effective: { thresholds: { financeDirectorFrom: 2_000 } } });
    const opsConsole = new ConsoleClient(stack.apiUrl);
    await opsConsole.signIn(adminKey);
    for (const [runId, version] of [[startedLenient.runId, lenient], [startedStrict.runId, strict]] as const) {
      const page = await opsConsole.get(`/ops/runs/${runId}`);
      expect(page.status).toBe(200);
      expect(page.html).toContain(`Policy version <strong id="policy-version">${version}</strong>`);
    }
  });

  it('refuses per-run settings under production bounds, and production refuses the short-durations switch at start', async () => {
    const configurer = { authorization: `Bearer ${await stack.createKey(approvers.requester, ['runs:start:capex', 'runs:configure'])}` };
    const flood = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput(), settings: { approval: { reminderAfter: '1ms' } } }, configurer);
    expect(flood.status).toBe(422);
    expect(flood.body.error.details.issues).toEqual([{ path: 'settings.approval.reminderAfter', message: 'must be at least 1h' }]);

    // Production also refuses published or short secrets: give it real-looking ones, so only the switch is at issue.
    const secret = () => randomBytes(36).toString('base64url');
    const base = {
      DATABASE_URL: 'postgresql://localhost/x',
      TOKEN_SECRETS: secret(),
      ...Object.fromEntries(['ERP', 'HRIS', 'ATS', 'SCREENING', 'ESIGN', 'IT'].map((system) => [`${system}_API_KEY`, secret()])),
    };
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', OPSFLOW_ALLOW_SHORT_DURATIONS: 'true' })).toThrow(/OPSFLOW_ALLOW_SHORT_DURATIONS: is not allowed when NODE_ENV=production/);
    expect(loadConfig({ ...base, NODE_ENV: 'production' }).OPSFLOW_ALLOW_SHORT_DURATIONS).toBe(false);
    expect(loadConfig({ ...base, NODE_ENV: 'development', OPSFLOW_ALLOW_SHORT_DURATIONS: 'true' }).OPSFLOW_ALLOW_SHORT_DURATIONS).toBe(true);
  });
});
