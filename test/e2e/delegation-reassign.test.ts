import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { currentVersion, decideByApi, getJson, openDecisions, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('delegation, reassignment and decisions over the API', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const start = async (title: string, amount = 3_000) =>
    (await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount }), settings: quickTiming })).body.runId as string;
  const auditOf = async (runId: string) => (await stack.db.auditEntry.findMany({ where: { runId }, orderBy: { id: 'asc' } }));

  it('an out-of-office approver’s request goes to the delegate, and the audit says on whose behalf', async () => {
    const hour = 3_600_000;
    await stack.db.delegation.create({
      data: { id: 'ooo-morgan', personEmail: approvers.lineManager, delegateEmail: 'casey.nguyen@example.com', startsAt: new Date(Date.now() - hour), endsAt: new Date(Date.now() + hour), createdBy: approvers.lineManager },
    });
    try {
      const runId = await start('Delegated request');
      const { mail, link } = await waitForApprovalMail(stack, 'casey.nguyen@example.com', { subject: /Delegated request/ });
      expect(mail.text).toContain('on behalf of Morgan Lee');
      expect((await submitDecision(link, 'approve')).status).toBe(200);
      await waitForRunStatus(stack, runId, 'completed');
      const audit = await auditOf(runId);
      expect(audit.find((e) => e.action === 'approval.requested')).toMatchObject({ onBehalfOf: approvers.lineManager });
      expect(audit.find((e) => e.action === 'approval.decided')).toMatchObject({ actor: 'casey.nguyen@example.com', onBehalfOf: approvers.lineManager });
      expect(stack.mail.messages().some((m) => m.to.includes(approvers.lineManager) && /Delegated request/.test(m.subject))).toBe(false);
    } finally {
      await stack.db.delegation.delete({ where: { id: 'ooo-morgan' } });
    }
  });

  it('ops staff reassign an open request: the old link stops working, the new approver decides', async () => {
    const runId = await start('Reassigned request');
    const original = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Reassigned request/ });
    const { body: run } = await getJson(`${stack.apiUrl}/runs/${runId}`);
    const requestId = run.approvals[0].requestId;

    const reader = await stack.createKey('alex.rivera@example.com', ['runs:read']);
    const forbidden = await postJson(`${stack.apiUrl}/runs/${runId}/approvals/${requestId}/reassign`, { to: approvers.coo }, { authorization: `Bearer ${reader}` });
    expect(forbidden.status).toBe(403);
    const unknown = await postJson(`${stack.apiUrl}/runs/${runId}/approvals/${requestId}/reassign`, { to: 'nobody@example.com' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details.issues[0].path).toBe('to');

    const moved = await postJson(`${stack.apiUrl}/runs/${runId}/approvals/${requestId}/reassign`, { to: approvers.coo, reason: 'Morgan is on leave' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ oldRequestId: requestId, approverEmail: approvers.coo });

    const stale = await fetch(original.link);
    expect(stale.status).toBe(410);
    expect(await stale.text()).toContain('reassigned to Dana Whitfield');
    const dana = await waitForApprovalMail(stack, approvers.coo, { subject: /Reassigned request/ });
    expect((await submitDecision(dana.link, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');

    const reassigned = (await auditOf(runId)).find((e) => e.action === 'approval.reassigned');
    expect(reassigned).toMatchObject({ actor: 'ops.desk@example.com' });
    expect(reassigned!.details).toMatchObject({ approver: approvers.lineManager, to: approvers.coo, reason: 'Morgan is on leave' });
    const again = await postJson(`${stack.apiUrl}/runs/${runId}/approvals/${requestId}/reassign`, { to: approvers.cfo });
    expect(again.status).toBe(410);
  });

  it('an integration decides with an API key carrying the approver’s identity, under the same rules', async () => {
    const runId = await start('Decided from chat');
    await waitForApprovalMail(stack, approvers.lineManager, { subject: /Decided from chat/ });
    const decisions = `${stack.apiUrl}/runs/${runId}/decisions`;
    const morgan = await stack.createKey(approvers.lineManager, ['decisions:write']);
    const priya = await stack.createKey(approvers.financeDirector, ['decisions:write']);
    const noScope = await stack.createKey(approvers.lineManager, ['runs:read']);
    const as = (key: string) => ({ authorization: `Bearer ${key}` });

    // An integration reads what waits on its user, and the version to decide on, with decisions:write alone.
    const waiting = await openDecisions(stack, runId, morgan);
    expect(waiting.decisions).toMatchObject({ version: await currentVersion(stack, runId), open: [{ step: 'line-manager' }] });
    expect(waiting.decisions!.facts).toContainEqual({ label: 'Vendor', value: 'DMG Mori' });
    expect((await openDecisions(stack, runId, priya)).decisions!.open).toEqual([]);
    const { version } = waiting.decisions!;
    expect((await decideByApi(stack, runId, { decision: 'approve', version }, noScope)).status).toBe(403);
    expect((await decideByApi(stack, runId, { decision: 'approve', version }, priya)).status).toBe(409);
    const missingReason = await postJson(decisions, { decision: 'reject', version }, as(morgan));
    expect(missingReason.status).toBe(422);
    expect(missingReason.body.error.details.issues[0].path).toBe('comment');
    const missingVersion = await postJson(decisions, { decision: 'approve' }, as(morgan));
    expect(missingVersion.status).toBe(422);
    expect(missingVersion.body.error.details.issues[0]).toMatchObject({ path: 'version', message: expect.stringContaining('GET /runs/:id') });

    const [first, second] = await Promise.all([
      postJson(decisions, { decision: 'approve', comment: 'From Slack', version }, { ...as(morgan), 'user-agent': 'chat-bot/1.0' }),
      decideByApi(stack, runId, { decision: 'approve', version }, morgan),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const winner = first.status === 200 ? first.body : second.decided;
    expect(winner).toMatchObject({ decision: 'approved' });
    await waitForRunStatus(stack, runId, 'completed');
    const decided = await waitUntil(async () => (await auditOf(runId)).find((e) => e.action === 'approval.decided'), 'the decision audit');
    expect(decided).toMatchObject({ actor: approvers.lineManager });
    expect(decided.details).toMatchObject({ channel: 'api', decision: 'approved' });
  });
});
