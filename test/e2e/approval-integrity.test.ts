import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapturedMail } from '../../dev/mail-sink.js';
import { approvalsOnRunPage } from '../support/console-client.js';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import {
  approvalLinkIn,
  currentVersion,
  decisionsSoFarOn,
  getJson,
  postJson,
  submitDecision,
  submitForm,
  versionOnPage,
  waitForApprovalMail,
  waitForRunStatus,
  waitUntil,
} from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * The controls of issue "Approval integrity", each reproduction of how they were bypassed replayed against the
 * whole stack (API, workflows on Temporal, PostgreSQL, SMTP): nobody approves, routes or rewrites their own
 * request, and every decision is bound to what the approver saw.
 */
describe('approval integrity', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const auditOf = (runId: string) => stack.db.auditEntry.findMany({ where: { runId }, orderBy: { id: 'asc' } });
  /** Every approval or escalation mail (a link to decide) someone received for runs with this title. */
  const approvalMailsTo = (email: string, title: string) =>
    stack.mail.messages().filter((m: CapturedMail) => m.to.includes(email) && m.subject.includes(title) && /approval needed/i.test(m.subject));

  it('an escalation target that resolves to the requester skips to the next eligible person; the requester never gets a link', async () => {
    // Alex (the requester) and Casey both hold the escalation role; Alex comes first in the directory's order.
    await stack.db.person.update({ where: { email: approvers.requester }, data: { roles: ['escalation-desk'] } });
    await stack.db.person.update({ where: { email: 'casey.nguyen@example.com' }, data: { roles: ['escalation-desk'] } });
    try {
      const alex = await stack.createKey(approvers.requester, ['runs:start:capex', 'runs:configure']);
      const title = 'Escalation around the requester';
      const settings = { approval: { reminderAfter: '1h', timeout: '2s', onTimeout: 'escalate', escalateTo: 'role:escalation-desk', escalationTimeout: '1h' } };
      const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings }, as(alex));
      expect(started.status).toBe(201);
      const runId = started.body.runId as string;

      const escalated = await waitForApprovalMail(stack, 'casey.nguyen@example.com', { subject: /^Escalated: approval needed: Escalation around/ });
      const skipped = await waitUntil(async () => (await auditOf(runId)).find((e) => e.action === 'approval.approver_skipped'), 'the skip in the audit');
      expect(skipped.details).toMatchObject({ skipped: approvers.requester, reason: 'is the requester of this run', role: 'role:escalation-desk' });
      expect((await submitDecision(escalated.link, 'approve')).status).toBe(200);
      const run = await waitForRunStatus(stack, runId, 'completed');

      expect(approvalMailsTo(approvers.requester, title)).toHaveLength(0);
      expect(run.approvals.map((a: { approver: { email: string } }) => a.approver.email)).not.toContain(approvers.requester);
      const runStarted = run.timeline.find((e: { action: string }) => e.action === 'run.started');
      expect(runStarted).toMatchObject({ actor: approvers.requester, details: { requester: approvers.requester, startedBy: approvers.requester, policyVersion: 1, settings } });
    } finally {
      await stack.db.person.update({ where: { email: approvers.requester }, data: { roles: [] } });
      await stack.db.person.update({ where: { email: 'casey.nguyen@example.com' }, data: { roles: [] } });
    }
  });

  it('the finance director’s own request goes to the next eligible approver, and no link of hers exists', async () => {
    const priya = await stack.createKey(approvers.financeDirector, ['runs:start:capex']);
    const title = 'Finance team offsite equipment';
    const { requester: _requester, ...input } = capexInput({ title, amount: 20_000 });
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input }, as(priya));
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;

    // Her line manager is Sam (the CFO); the finance-director seat passes over her (the requester) and Sam (who
    // decided the line-manager step) to the top of the chain.
    const sam = await waitForApprovalMail(stack, approvers.cfo, { subject: new RegExp(title) });
    expect((await submitDecision(sam.link, 'approve')).status).toBe(200);
    const jordan = await waitForApprovalMail(stack, 'jordan.blake@example.com', { subject: new RegExp(title) });
    expect(jordan.mail.text).toContain('Finance director approval');
    expect((await submitDecision(jordan.link, 'approve')).status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'completed');

    expect(await stack.db.approvalRequest.count({ where: { runId, approverEmail: approvers.financeDirector } })).toBe(0);
    expect(approvalMailsTo(approvers.financeDirector, title)).toHaveLength(0);
    const skips = (await auditOf(runId)).filter((e) => e.action === 'approval.approver_skipped').map((e) => e.details);
    expect(skips).toEqual([
      expect.objectContaining({ skipped: approvers.financeDirector, reason: 'is the requester of this run' }),
      expect.objectContaining({ skipped: approvers.cfo, reason: 'already decided "Line manager approval" on this run' }),
    ]);
    expect(run.approvals.map((a: { step: string; approver: { email: string; role: string } }) => [a.step, a.approver.email])).toEqual([
      ['line-manager', approvers.cfo],
      ['finance-director', 'jordan.blake@example.com'],
    ]);
  });

  it('with nobody eligible for a step, the policy’s fallback role takes it; without one the run fails, naming the step and why', async () => {
    const editPerson = (email: string, body: Record<string, unknown>) =>
      fetch(`${stack.apiUrl}/directory/people/${email}`, { method: 'PATCH', headers: { ...as(stack.adminKey), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // Priya asks and her manager Sam decides the line-manager step. With Sam at the top of the org, the finance-director
    // seat has only Priya (the requester) and Sam (who decided a step already) to go to: nobody eligible.
    expect((await editPerson(approvers.cfo, { managerEmail: null })).status).toBe(200);
    try {
      const priya = await stack.createKey(approvers.financeDirector, ['runs:start:capex', 'runs:configure']);
      const startAndPassLineManager = async (title: string, settings?: Record<string, unknown>) => {
        const { requester: _requester, ...input } = capexInput({ title, amount: 20_000 });
        const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input, ...(settings ? { settings } : {}) }, as(priya));
        expect(started.status).toBe(201);
        const sam = await waitForApprovalMail(stack, approvers.cfo, { subject: new RegExp(title) });
        expect((await submitDecision(sam.link, 'approve')).status).toBe(200);
        return started.body.runId as string;
      };
      const skippedIn = async (runId: string) =>
        (await auditOf(runId)).filter((e) => e.action === 'approval.approver_skipped' && e.step === 'finance-director').map((e) => (e.details as { skipped: string }).skipped);

      const withFallback = await startAndPassLineManager('Fallback takes the seat', { separationOfDuties: { fallbackRole: 'role:coo' } });
      const dana = await waitForApprovalMail(stack, approvers.coo, { subject: /Fallback takes the seat/ });
      expect(dana.mail.text).toContain('Finance director approval');
      expect((await submitDecision(dana.link, 'approve')).status).toBe(200);
      const completed = await waitForRunStatus(stack, withFallback, 'completed');
      expect(completed.approvals.at(-1)).toMatchObject({ step: 'finance-director', approver: { email: approvers.coo, role: 'role:coo (fallback for role:finance-director)' } });
      expect(await skippedIn(withFallback)).toEqual([approvers.financeDirector, approvers.cfo]);

      const withoutFallback = await startAndPassLineManager('Nobody to take the seat');
      const failed = await waitForRunStatus(stack, withoutFallback, 'failed');
      expect(failed.failure).toMatchObject({ step: 'finance-director', reason: expect.stringContaining('Finance director approval cannot be filled under separation of duties: role:finance-director: nobody eligible') });
      const noneEligible = (await auditOf(withoutFallback)).filter((e) => e.action === 'approval.no_eligible_approver');
      expect(noneEligible).toEqual([expect.objectContaining({ step: 'finance-director', details: { role: 'role:finance-director', reason: 'nobody eligible' } })]);
      expect(await skippedIn(withoutFallback)).toEqual([approvers.financeDirector, approvers.cfo]);
      expect(approvalMailsTo(approvers.financeDirector, 'Nobody to take the seat')).toHaveLength(0);
    } finally {
      await editPerson(approvers.cfo, { managerEmail: 'jordan.blake@example.com' });
    }
  });

  it('reassignment refuses the person reassigning, the requester and anyone the requester asks; each refusal is audited', async () => {
    const title = 'Reassigned around the rules';
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 3_000 }), settings: quickTiming });
    const runId = started.body.runId as string;
    await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    const { body: run } = await getJson(`${stack.apiUrl}/runs/${runId}`);
    const reassign = (to: string, key?: string) =>
      postJson(`${stack.apiUrl}/runs/${runId}/approvals/${run.approvals[0].requestId}/reassign`, { to, reason: 'covering' }, key ? as(key) : {});

    const casey = await stack.createKey('casey.nguyen@example.com', ['runs:manage', 'runs:read']);
    const toHerself = await reassign('casey.nguyen@example.com', casey);
    expect(toHerself.status).toBe(422);
    expect(toHerself.body.error.details.issues[0]).toEqual({ path: 'to', message: 'Nobody can reassign a request to themselves' });

    const toRequester = await reassign(approvers.requester);
    expect(toRequester.status).toBe(422);
    expect(toRequester.body.error.message).toContain('is the requester of this run');
    // ops.desk started this run (for Alex): whoever starts a run is kept out of its seats too.
    const toStarter = await reassign('ops.desk@example.com', casey);
    expect(toStarter.status).toBe(422);
    expect(toStarter.body.error.message).toContain('started this run');
    const byRequester = await reassign('dana.whitfield@example.com', await stack.createKey(approvers.requester, ['runs:manage']));
    expect(byRequester.status).toBe(422);
    expect(byRequester.body.error.message).toContain('The requester cannot reassign the approvals of their own request');

    const refusals = (await auditOf(runId)).filter((e) => e.action === 'approval.refused');
    expect(refusals.map((e) => [e.actor, (e.details as { to: string }).to])).toEqual([
      ['casey.nguyen@example.com', 'casey.nguyen@example.com'],
      ['ops.desk@example.com', approvers.requester],
      ['casey.nguyen@example.com', 'ops.desk@example.com'],
      [approvers.requester, 'dana.whitfield@example.com'],
    ]);
    const stillMorgans = await getJson(`${stack.apiUrl}/runs/${runId}`);
    expect(stillMorgans.body.approvals).toHaveLength(1);
    expect(stillMorgans.body.approvals[0]).toMatchObject({ state: 'pending', approver: { email: approvers.lineManager } });

    const fine = await reassign('dana.whitfield@example.com');
    expect(fine.status).toBe(200);
    expect(approvalMailsTo(approvers.requester, title)).toHaveLength(0);
  });

  it('a material edit asks the earlier approver again with what changed; a stale decision is refused with the diff; the old snapshot stays', async () => {
    const title = 'Laser cutter for line 2';
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 25_000, vendor: 'Trumpf' }), settings: quickTiming });
    const runId = started.body.runId as string;

    const morgan = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    expect((await submitDecision(morgan.link, 'approve')).status).toBe(200);
    const priya = await waitForApprovalMail(stack, approvers.financeDirector, { subject: new RegExp(title) });
    const versionSeen = versionOnPage(await (await fetch(priya.link)).text());
    expect(versionSeen).toBe(await currentVersion(stack, runId));
    expect((await submitDecision(priya.link, 'request_changes', 'Get the premium model, it is safer', 'priya', versionSeen)).status).toBe(200);

    const edit = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && m.subject.startsWith(`Changes requested: ${title}`));
    expect((await submitForm(approvalLinkIn(edit), { amount: '99000', vendor: 'Trumpf Premium' })).status).toBe(200);

    // Morgan approved 25,000 EUR from Trumpf: asked again, with the change in the mail and on the page.
    const again = await stack.mail.waitFor((m) => m.to.includes(approvers.lineManager) && m.subject.startsWith(`Approval needed again: ${title}`));
    expect(again.text).toContain('Amount: 25,000.00 EUR → 99,000.00 EUR');
    expect(again.text).toContain('Vendor: Trumpf → Trumpf Premium');
    const againLink = approvalLinkIn(again);
    const page = await (await fetch(againLink)).text();
    expect(page).toContain('You are asked again because the request was edited after this step was approved');
    expect(page).toContain('<tr><th scope="row">Amount</th><td><del>25,000.00 EUR</del></td><td><ins>99,000.00 EUR</ins></td></tr>');
    // The decisions so far say which still count: not Morgan's approval of 25,000 EUR, and a request for changes never.
    const morgansSuperseded = /^Superseded approval Line manager approval Morgan Lee, .* Asked again after a material change: Amount, Vendor\. This approval no longer counts\.$/;
    const priyasRequest = /^Changes requested Finance director approval Priya Shah, .* Edited since: Amount, Vendor Get the premium model, it is safer$/;
    expect(decisionsSoFarOn(page)).toEqual([expect.stringMatching(morgansSuperseded), expect.stringMatching(priyasRequest)]);

    // A decision on the version from before the edit (a page or integration that read it earlier) is refused.
    const stale = await submitDecision(againLink, 'approve', '', 'morgan-old-tab', versionSeen);
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('This request changed after you opened the page. Nothing was decided');
    expect(stale.html).toContain('<tr><th scope="row">Vendor</th><td><del>Trumpf</del></td><td><ins>Trumpf Premium</ins></td></tr>');
    const morganKey = await stack.createKey(approvers.lineManager, ['decisions:write']);
    const staleApi = await postJson(`${stack.apiUrl}/runs/${runId}/decisions`, { decision: 'approve', version: versionSeen }, as(morganKey));
    expect(staleApi.status).toBe(409);
    expect(staleApi.body.error).toMatchObject({
      code: 'stale_version',
      details: { yourVersion: versionSeen, currentVersion: await currentVersion(stack, runId), changes: expect.arrayContaining([{ label: 'Amount', before: '25,000.00 EUR', after: '99,000.00 EUR' }]) },
    });
    expect((await getJson(`${stack.apiUrl}/runs/${runId}`)).body.approvals.at(-1)).toMatchObject({ state: 'pending', approver: { email: approvers.lineManager } });

    expect((await submitDecision(againLink, 'approve')).status).toBe(200);
    const priyaAgain = await stack.mail.waitFor((m) => m.to.includes(approvers.financeDirector) && m.subject.startsWith(`Approval needed: ${title}`) && m.id !== priya.mail.id);
    // Priya's page next to 99,000 EUR (where the reproduction showed "Approved: Line manager, Morgan Lee" alone).
    const priyaPage = await (await fetch(approvalLinkIn(priyaAgain))).text();
    expect(priyaPage).toContain('<div><dt>Amount</dt><dd>99,000.00 EUR</dd></div>');
    expect(decisionsSoFarOn(priyaPage)).toEqual([
      expect.stringMatching(morgansSuperseded),
      expect.stringMatching(priyasRequest),
      expect.stringMatching(/^Approved Line manager approval Morgan Lee, [^.]* on version [0-9a-f]{12}$/),
    ]);
    expect((await submitDecision(approvalLinkIn(priyaAgain), 'approve')).status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'completed');
    expect(stack.simulators.erp.findByReference(runId)[0]).toMatchObject({ amount: 99_000, vendor: 'Trumpf Premium' });

    // The first approval's evidence is what Morgan saw then, whatever happened after.
    const first = await stack.db.approvalRequest.findFirstOrThrow({ where: { runId, stepId: 'line-manager', decision: 'approved' }, orderBy: { usedAt: 'asc' } });
    expect(first.decidedVersion).toBe(versionSeen);
    expect(first.factsSnapshot).toEqual(expect.arrayContaining([{ label: 'Amount', value: '25,000.00 EUR' }, { label: 'Vendor', value: 'Trumpf' }]));
    const audit = await auditOf(runId);
    const submitted = audit.find((e) => e.action === 'revision.submitted')!;
    expect((submitted.details as { changes: unknown[] }).changes).toEqual(
      expect.arrayContaining([
        { field: 'amount', before: 25_000, after: 99_000 },
        { field: 'vendor', before: 'Trumpf', after: 'Trumpf Premium' },
      ]),
    );
    const reasked = audit.filter((e) => e.action === 'approval.requested' && e.step === 'line-manager').at(-1)!;
    expect(reasked.details).toMatchObject({ askedAgainBecause: { materialChanges: ['amount', 'vendor'] } });
    const decisions = audit.filter((e) => e.action === 'approval.decided').map((e) => (e.details as { version: string }).version);
    expect(new Set(decisions).size).toBe(2);
    expect(run.approvals.filter((a: { state: string }) => a.state === 'approved')).toHaveLength(3);
  });

  it('a typo fix in the justification keeps the earlier approval, and the next page says what changed since it', async () => {
    const title = 'Dust extraction for hall B';
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 25_000 }), settings: quickTiming });
    const runId = started.body.runId as string;
    expect((await submitDecision((await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) })).link, 'approve')).status).toBe(200);
    const priya = await waitForApprovalMail(stack, approvers.financeDirector, { subject: new RegExp(title) });
    expect((await submitDecision(priya.link, 'request_changes', 'Fix the typo in the justification')).status).toBe(200);
    const edit = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && m.subject.startsWith(`Changes requested: ${title}`));
    expect((await submitForm(approvalLinkIn(edit), { justification: 'Hall B runs at 140% of its extraction capacity.' })).status).toBe(200);

    const priyaAgain = await stack.mail.waitFor((m) => m.to.includes(approvers.financeDirector) && m.subject.includes(title) && m.id !== priya.mail.id);
    const page = await (await fetch(approvalLinkIn(priyaAgain))).text();
    expect(decisionsSoFarOn(page)[0]).toMatch(/^Approved Line manager approval Morgan Lee, .* Changed since: Justification \(not material under the policy, so this decision stands\)$/);
    expect((await submitDecision(approvalLinkIn(priyaAgain), 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    expect(approvalMailsTo(approvers.lineManager, title)).toHaveLength(1);
  });

  it('deadline actions: reject by policy, approve by policy under the limit, expire above it; each audited with the policy version', async () => {
    const start = async (title: string, amount: number, timing: Record<string, unknown>) =>
      (await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount }), settings: { approval: { reminderAfter: '1h', timeout: '2s', ...timing } } })).body
        .runId as string;
    const rejected = await start('Rejected at the deadline', 3_000, { onTimeout: 'reject' });
    const approved = await start('Approved at the deadline', 3_000, { onTimeout: 'approve', approveAtDeadlineBelow: 5_000 });
    const tooLarge = await start('Too large to approve unseen', 8_000, { onTimeout: 'approve', approveAtDeadlineBelow: 5_000 });

    const rejectedRun = await waitForRunStatus(stack, rejected, 'rejected');
    const byPolicy = rejectedRun.timeline.find((e: { action: string }) => e.action === 'approval.decided');
    expect(byPolicy).toMatchObject({ actor: 'policy', details: { decision: 'rejected', byPolicy: { trigger: 'deadline', policyVersion: 1 } } });
    // Nobody decided: the request the policy closed says so, on GET /runs/:id and the console's run page.
    expect(rejectedRun.approvals.map((a) => [a.state, a.channel])).toEqual([['revoked', 'policy']]);
    expect((await approvalsOnRunPage(stack, rejected)).map((row) => row.Via)).toEqual(['policy at deadline']);
    const told = await stack.mail.waitFor((m) => m.to.includes(approvers.requester) && /was rejected: Rejected at the deadline/.test(m.subject));
    expect(told.text).toContain('Rejected by policy at the deadline (policy version 1)');

    const approvedRun = await waitForRunStatus(stack, approved, 'completed');
    expect(approvedRun.timeline.find((e: { action: string }) => e.action === 'approval.decided')).toMatchObject({ actor: 'policy', details: { decision: 'approved' } });
    expect(stack.simulators.erp.findByReference(approved)).toHaveLength(1);

    const expired = await waitForRunStatus(stack, tooLarge, 'expired');
    expect(expired.failureReason).toContain('approves at the deadline only below 5000');
    expect(expired.timeline.some((e: { action: string }) => e.action === 'approval.decided')).toBe(false);
  });

  it('follows a chain of delegations to whoever is in, and passes over a cycle of them', async () => {
    const hour = 3_600_000;
    const away = (id: string, person: string, delegate: string) =>
      stack.db.delegation.create({ data: { id, personEmail: person, delegateEmail: delegate, startsAt: new Date(Date.now() - hour), endsAt: new Date(Date.now() + hour), createdBy: person } });
    await away('chain-1', approvers.lineManager, 'casey.nguyen@example.com');
    await away('chain-2', 'casey.nguyen@example.com', 'avery.kim@example.com');
    try {
      const chained = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Delegated twice', amount: 3_000 }), settings: quickTiming });
      const avery = await waitForApprovalMail(stack, 'avery.kim@example.com', { subject: /Delegated twice/ });
      expect(avery.mail.text).toContain('on behalf of Morgan Lee');
      expect((await submitDecision(avery.link, 'approve')).status).toBe(200);
      await waitForRunStatus(stack, chained.body.runId, 'completed');

      // Casey now hands back to Morgan: nobody in the circle is in, so the seat goes up Morgan's manager chain.
      await stack.db.delegation.delete({ where: { id: 'chain-2' } });
      await away('chain-3', 'casey.nguyen@example.com', approvers.lineManager);
      const circular = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Delegated in a circle', amount: 3_000 }), settings: quickTiming });
      const dana = await waitForApprovalMail(stack, approvers.coo, { subject: /Delegated in a circle/ });
      expect(dana.mail.text).not.toContain('on behalf of');
      const skipped = (await auditOf(circular.body.runId)).find((e) => e.action === 'approval.approver_skipped');
      expect(skipped?.details).toMatchObject({ skipped: approvers.lineManager, reason: 'is away, and the delegations Morgan Lee → Casey Nguyen → Morgan Lee go round in a circle' });
    } finally {
      await stack.db.delegation.deleteMany({ where: { id: { in: ['chain-1', 'chain-2', 'chain-3'] } } });
    }
  });
});
