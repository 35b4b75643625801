import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SupplierOnboardingInput } from '../../processes/supplier-onboarding.js';
import { approvalLinkIn, getJson, postJson, submitDecision, submitForm, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';
import { completeTask, taskAction, tasksOfRun } from '../support/tasks.js';

const requester = { name: 'Alex Rivera', email: 'alex.rivera@example.com' };
const reviewers = { procurement: 'kim.park@example.com', finance: 'priya.shah@example.com', security: 'omar.haddad@example.com', compliance: 'chris.mendes@example.com' };

function supplier(legalName: string, overrides: Partial<SupplierOnboardingInput> = {}): SupplierOnboardingInput {
  return {
    legalName,
    country: 'DE',
    contact: { name: 'Hanna Vogel', email: `hanna@${legalName.toLowerCase().replace(/[^a-z]/g, '')}.test` },
    category: 'it-services',
    expectedAnnualSpend: 180_000,
    currency: 'EUR',
    handlesPersonalData: true,
    requester,
    ...overrides,
  };
}

/** The supplier's form as their browser posts it. */
function detailsForm(iban: string, taxId: string): Record<string, string> {
  return {
    taxId,
    vatNumber: 'DE 123 456 789',
    'registeredAddress.line1': 'Torstraße 1',
    'registeredAddress.city': 'Berlin',
    'registeredAddress.postalCode': '10119',
    'registeredAddress.country': 'DE',
    'bank.accountHolder': 'Vogel Cloud GmbH',
    'bank.iban': iban,
    'bank.bic': 'COBADEFFXXX',
    'certificates.0.kind': 'iso27001',
    'certificates.0.reference': 'ISO-27001-4711',
    'certificates.0.validUntil': '2030-12-31',
    'certificates.1.kind': 'iso9001',
  };
}

const settings = { approval: { reminderAfter: '1h', timeout: '2h' } };

describe('supplier onboarding on the whole local stack', () => {
  let stack: Stack;
  let securityKey: string;
  beforeAll(async () => {
    stack = await startStack();
    securityKey = await stack.createKey(reviewers.security, ['tasks:write']);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function start(input: SupplierOnboardingInput): Promise<string> {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'supplier-onboarding', input, settings });
    expect(started.status).toBe(201);
    return started.body.runId;
  }

  async function fillInDetails(contactEmail: string, legalName: string) {
    const taxId = `HRB ${legalName.length}${contactEmail.length}${Date.now() % 100000}`;
    const mail = await stack.mail.waitFor((m) => m.to.includes(contactEmail) && m.subject.includes('your company details'));
    const link = /https?:\/\/\S+\/approvals\/[A-Za-z0-9_-]{43}/.exec(mail.text)![0];
    const page = await fetch(link);
    const form = await page.text();
    expect(form).toContain('name="bank.iban"');
    expect(form).toContain('Bank: IBAN (optional)');
    const post = (form: Record<string, string>) =>
      fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });

    // A typo in the IBAN: refused next to the field, everything typed kept.
    const refused = await post(detailsForm('DE89 3704 0044 0532 0130 01', taxId));
    expect(refused.status).toBe(422);
    const html = await refused.text();
    expect(html).toMatch(/field-bank\.iban-error[^>]*>[^<]*not a valid IBAN/);
    expect(html).toContain('value="Torstraße 1"');

    const accepted = await post(detailsForm('DE89 3704 0044 0532 0130 00', taxId));
    expect(accepted.status).toBe(200);
    expect(await accepted.text()).toContain('Thank you');
    const repeated = await post(detailsForm('DE89 3704 0044 0532 0130 00', taxId));
    expect(repeated.status).toBe(409);
    expect(await repeated.text()).toContain('This form was already sent');
    return legalName;
  }

  /** The security check task of a run, once the supplier's details opened it. */
  async function securityCheckOf(runId: string) {
    const [task] = await tasksOfRun(stack, runId, 1);
    expect(task).toMatchObject({ key: 'security-check', step: 'security-check', status: 'open', candidateGroup: 'security', holder: null });
    return task!;
  }

  it('screens, collects the supplier’s details through their link, has security check them as a task, procurement and finance sign off, and creates one ERP vendor', async () => {
    const input = supplier('Vogel Cloud GmbH');
    const runId = await start(input);
    await fillInDetails(input.contact.email, input.legalName);

    // Security's review is work: a task for the group, which Omar claims and completes with its form.
    const check = await securityCheckOf(runId);
    expect(check.instructions).toContain('Certificates they gave: iso27001 ISO-27001-4711 (until 2030-12-31)');
    expect((await taskAction(stack, securityKey, check.taskId, '/tasks/{id}/claim')).task).toMatchObject({ status: 'claimed', holder: { email: reviewers.security } });
    const withoutFindings = await completeTask(stack, securityKey, check.taskId, { verdict: 'acceptable-with-conditions', questionnaireComplete: true });
    expect(withoutFindings.status).toBe(422);
    expect(withoutFindings.error?.error.details?.issues).toEqual([{ path: 'values.findings', message: 'say what the conditions are, or why it is not acceptable' }]);
    const findings = 'Customer data stays in the EU region; yearly penetration test report due each March';
    expect((await completeTask(stack, securityKey, check.taskId, { verdict: 'acceptable-with-conditions', questionnaireComplete: true, findings })).status).toBe(200);

    // The run goes on to the sign-off, whose approvers see the check; security approves nothing.
    for (const reviewer of [reviewers.procurement, reviewers.finance]) {
      const { mail, link } = await waitForApprovalMail(stack, reviewer, { subject: /Vogel Cloud/ });
      expect(mail.text).toContain('DE89 3704 0044 0532 0130 00');
      expect(mail.text).toContain('Acceptable with conditions, by Omar Haddad');
      expect(mail.text).toContain(`Findings: ${findings}`);
      expect((await submitDecision(link, 'approve')).status).toBe(200);
    }
    const run = await waitForRunStatus(stack, runId, 'completed');
    expect(run.outcome).toBe('onboarded');
    expect(await stack.db.approvalRequest.count({ where: { runId, approverEmail: reviewers.security, kind: 'decision' } })).toBe(0);
    const completed = await stack.db.auditEntry.findFirstOrThrow({ where: { runId, action: 'task.completed' } });
    expect(completed).toMatchObject({ actor: reviewers.security, step: 'security-check' });

    const vendors = stack.simulators.erp.vendors().filter((v) => v.reference === runId);
    expect(vendors).toHaveLength(1);
    expect(vendors[0]).toMatchObject({ legalName: 'Vogel Cloud GmbH', vatNumber: 'DE123456789', bank: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' }, status: 'active' });
    expect(stack.simulators.screening.checks().filter((c) => c.reference === runId)).toEqual([expect.objectContaining({ status: 'clear' })]);
    const welcome = await stack.mail.waitFor((m) => m.to.includes(input.contact.email) && m.subject.includes('set up as our supplier'));
    expect(welcome.text).toContain(vendors[0]!.vendorId);
    await stack.mail.waitFor((m) => m.to.includes(requester.email) && m.text.includes(vendors[0]!.vendorId));
  });

  it('a security check that finds the supplier not acceptable ends the run rejected: nobody is asked to sign off, no vendor', async () => {
    const input = supplier('Lax Hosting Ltd');
    const runId = await start(input);
    await fillInDetails(input.contact.email, input.legalName);
    const check = await securityCheckOf(runId);
    // The requester may not do the check of the supplier they asked for.
    const requesterKey = await stack.createKey(requester.email, ['tasks:write']);
    expect((await taskAction(stack, requesterKey, check.taskId, '/tasks/{id}/claim')).status).toBe(422);

    // Completing an unclaimed task through the mailed link claims it for whoever completes it.
    const mail = await stack.mail.waitFor((m) => m.to.includes(reviewers.security) && m.subject.startsWith('Task for security: Security check: Lax Hosting Ltd'));
    const done = await submitForm(approvalLinkIn(mail), { action: 'complete', verdict: 'not-acceptable', findings: 'No encryption at rest for customer data' });
    expect(done.status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'rejected');
    expect(run.failureReason).toBe('Security check by Omar Haddad: not acceptable. No encryption at rest for customer data');
    expect(await stack.db.approvalRequest.count({ where: { runId, kind: 'decision' } })).toBe(0);
    expect(stack.simulators.erp.vendors().filter((v) => v.reference === runId)).toEqual([]);
    await stack.mail.waitFor((m) => m.to.includes(requester.email) && m.text.includes('No encryption at rest for customer data'));
  });

  it('refuses a start that fills in what the run fills in itself: the supplier’s details and the security verdict', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'supplier-onboarding', input: { ...supplier('Forged GmbH'), details: { bank: {} }, securityCheck: { verdict: 'acceptable' } }, settings });
    expect(started.status).toBe(422);
    expect(started.body.error.details.issues).toEqual([
      { path: 'input.details', message: 'is filled in during the run, not when it starts' },
      { path: 'input.securityCheck', message: 'is filled in during the run, not when it starts' },
    ]);
  });

  it('a sanctions hit goes to compliance; rejected, the supplier is never created or asked for details', async () => {
    const input = supplier('Petrov Trading LLC', { country: 'CY' });
    const runId = await start(input);
    const { mail, link } = await waitForApprovalMail(stack, reviewers.compliance, { subject: /Petrov Trading/ });
    expect(mail.text).toContain('EU-CONSOLIDATED');
    expect((await submitDecision(link, 'reject', 'Confirmed match on the EU consolidated list')).status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'rejected');
    expect(run.failureReason ?? run.outcome).toBeTruthy();
    expect(stack.simulators.erp.vendors().filter((v) => v.reference === runId)).toEqual([]);
    expect(stack.mail.messages().filter((m) => m.to.includes(input.contact.email))).toEqual([]);
    const actions = (await getJson(`${stack.apiUrl}/runs/${runId}/audit`)).body.items.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['screening.hit', 'approval.decided', 'run.rejected']));
  });

  it('the ERP answering 503 three times still ends with exactly one vendor', async () => {
    const input = supplier('Brandt Logistik AG', { handlesPersonalData: false, category: 'logistics' });
    stack.simulators.injectFault({ system: 'erp', route: 'POST /vendors', fail: 3, status: 503 });
    const runId = await start(input);
    await fillInDetails(input.contact.email, input.legalName);
    for (const reviewer of [reviewers.procurement, reviewers.finance]) {
      const { link } = await waitForApprovalMail(stack, reviewer, { subject: /Brandt Logistik/ });
      await submitDecision(link, 'approve');
    }
    await waitForRunStatus(stack, runId, 'completed', 45_000);
    const attempts = stack.simulators.requestLog('erp').filter((r) => r.method === 'POST' && r.path === '/vendors' && r.idempotencyKey === `${runId}:vendor`);
    expect(attempts.map((a) => a.status)).toEqual([503, 503, 503, 201]);
    expect(stack.simulators.erp.vendors().filter((v) => v.reference === runId)).toHaveLength(1);
  });

  it('a 4xx from the ERP fails the run at the vendor step, with the reason on GET /runs/:id', async () => {
    const input = supplier('Kessler Facility GmbH', { handlesPersonalData: false, category: 'facilities' });
    stack.simulators.injectFault({ system: 'erp', route: 'POST /vendors', fail: 1, status: 422, body: { error: { code: 'validation_failed', message: 'Bank country not allowed for this company code' } } });
    const runId = await start(input);
    await fillInDetails(input.contact.email, input.legalName);
    for (const reviewer of [reviewers.procurement, reviewers.finance]) {
      const { link } = await waitForApprovalMail(stack, reviewer, { subject: /Kessler Facility/ });
      await submitDecision(link, 'approve');
    }
    const run = await waitForRunStatus(stack, runId, 'failed');
    expect(run.failure).toMatchObject({ step: 'create-vendor', reason: expect.stringContaining('Bank country not allowed') });
    const audit = (await getJson(`${stack.apiUrl}/runs/${runId}/audit`)).body.items as Array<{ action: string; step: string | null }>;
    expect(audit.find((e) => e.action === 'run.failed')?.step).toBe('create-vendor');
    await waitUntil(async () => stack.simulators.requestLog('erp').filter((r) => r.idempotencyKey === `${runId}:vendor`).length === 1 || undefined, 'one ERP call, not retried');
  });
});
