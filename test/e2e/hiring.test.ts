import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HiringInput } from '../../processes/hiring.js';
import { getJson, listEvents, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const manager = { name: 'Avery Kim', email: 'avery.kim@example.com' };
const today = () => new Date().toISOString().slice(0, 10);
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

function requisition(role: string, overrides: Partial<HiringInput> = {}): HiringInput {
  return {
    role,
    department: 'Engineering',
    level: 'L4',
    location: 'Berlin',
    salaryRange: { min: 85_000, max: 100_000, currency: 'EUR' },
    headcountJustification: 'The payments team is two engineers short of its roadmap commitments.',
    hiringManager: manager,
    requester: manager,
    ...overrides,
  };
}

const settings = { approval: { reminderAfter: '1h', timeout: '2h' }, signaturePollInterval: '1s' };

describe('hiring: requisition to provisioned employee, on the whole local stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** The simulators' own API, as the ATS's users (recruiters) and the new hire would use it. */
  async function simulator(path: string, body: unknown, key: string) {
    const response = await fetch(`${stack.simulators.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'idempotency-key': `test-${path}-${JSON.stringify(body)}` },
      body: JSON.stringify(body),
    });
    return (await response.json()) as Record<string, any>;
  }

  async function approveThrough(runId: string, title: string, approvers: string[]) {
    for (const approver of approvers) {
      const { link } = await waitForApprovalMail(stack, approver, { subject: new RegExp(title) });
      expect((await submitDecision(link, 'approve', 'go ahead')).status).toBe(200);
    }
    return waitUntil(async () => {
      const { body } = await getJson(`${stack.apiUrl}/runs/${runId}`);
      return body.currentStep === 'awaiting-offer' ? body : undefined;
    }, 'the run to wait for an offer');
  }

  /** A recruiter adds the candidate and records the accepted offer in the ATS, which sends offer.accepted. */
  async function candidateAccepts(runId: string, name: string, email: string, startDate: string) {
    const requisition = stack.simulators.ats.requisitions().find((r) => r.reference === runId)!;
    expect(requisition).toMatchObject({ status: 'open', department: 'Engineering', salaryMax: 100_000 });
    const candidate = await simulator(`/ats/requisitions/${requisition.requisitionId}/candidates`, { name, email }, 'dev-ats-key');
    await simulator(`/ats/candidates/${candidate.candidateId}/accept-offer`, { startDate, salary: 95_000, currency: 'EUR' }, 'dev-ats-key');
    return { candidateId: candidate.candidateId as string, requisitionId: requisition.requisitionId };
  }

  async function signOfferLetter(email: string) {
    const mail = await stack.mail.waitFor((m) => m.to.includes(email) && m.subject.startsWith('Your offer letter'));
    const signingUrl = /https?:\/\/\S+\/esign\/sign\/ENV-\d+/.exec(mail.text)![0];
    expect((await fetch(signingUrl)).status).toBe(200);
    const signed = await fetch(signingUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=sign' });
    expect(await signed.text()).toContain('Signed, thank you');
  }

  it('approves, opens the requisition, takes the ATS offer event, gets the letter signed, creates and provisions the employee', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input: requisition('Payments Engineer'), settings });
    expect(started.status).toBe(201);
    const runId: string = started.body.runId;
    await approveThrough(runId, 'Payments Engineer', ['taylor.brooks@example.com', 'jamie.ortiz@example.com']);

    const { requisitionId } = await candidateAccepts(runId, 'Noa Levi', 'noa.levi@mail.test', today());
    await signOfferLetter('noa.levi@mail.test');
    const run = await waitForRunStatus(stack, runId, 'completed', 45_000);
    expect(run.outcome).toBe('hired');

    const employee = stack.simulators.hris.employees().find((e) => e.reference === runId)!;
    expect(employee).toMatchObject({ name: 'Noa Levi', status: 'pending_start', department: 'Engineering', salary: 95_000, managerEmail: manager.email });
    expect(stack.simulators.it.accounts().filter((a) => a.employeeId === employee.employeeId)).toEqual([expect.objectContaining({ status: 'active', workEmail: 'noa.levi@example.com' })]);
    expect(stack.simulators.it.orders().filter((o) => o.employeeId === employee.employeeId)).toEqual([expect.objectContaining({ status: 'ordered' })]);
    expect(stack.simulators.ats.requisitions().find((r) => r.requisitionId === requisitionId)).toMatchObject({ status: 'closed', closeReason: 'filled' });
    expect(stack.simulators.esign.envelopes().find((e) => e.reference === runId)).toMatchObject({ status: 'signed' });

    const welcome = await stack.mail.waitFor((m) => m.to.includes('noa.levi@mail.test') && m.subject.startsWith('Welcome'));
    expect(welcome.text).toContain('noa.levi@example.com');
    const checklist = await stack.mail.waitFor((m) => m.to.includes(manager.email) && m.subject.includes('your checklist'));
    expect(checklist.text).toContain(employee.employeeId);

    const actions = (await getJson(`${stack.apiUrl}/runs/${runId}/audit`)).body.items.map((e: { action: string }) => e.action);
    for (const action of ['hris.headcount_checked', 'ats.requisition_opened', 'event.applied', 'esign.envelope_signed', 'hris.employee_created', 'it.account_created', 'it.equipment_ordered', 'run.completed']) {
      expect(actions).toContain(action);
    }
    const events = await listEvents(stack, { source: 'ats', runId });
    expect(events).toEqual([expect.objectContaining({ type: 'offer.accepted', status: 'applied' })]);
  });

  it('a hire withdrawn after provisioning leaves no active accounts, a cancelled equipment order and an audit of the undo', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input: requisition('Platform Engineer'), settings });
    const runId: string = started.body.runId;
    await approveThrough(runId, 'Platform Engineer', ['taylor.brooks@example.com', 'jamie.ortiz@example.com']);
    const { candidateId } = await candidateAccepts(runId, 'Sam Rivers', 'sam.rivers@mail.test', inDays(30));
    await signOfferLetter('sam.rivers@mail.test');
    await waitUntil(async () => {
      const { body } = await getJson(`${stack.apiUrl}/runs/${runId}`);
      return body.currentStep === 'awaiting-start-date' || undefined;
    }, 'provisioning to finish', 45_000);
    const employee = stack.simulators.hris.employees().find((e) => e.reference === runId)!;
    expect(stack.simulators.it.accounts().filter((a) => a.employeeId === employee.employeeId && a.status === 'active')).toHaveLength(1);

    await simulator(`/ats/candidates/${candidateId}/withdraw`, { reason: 'accepted a counter-offer' }, 'dev-ats-key');
    const run = await waitForRunStatus(stack, runId, 'cancelled', 45_000);
    expect(run.outcome).toBe('withdrawn');

    expect(stack.simulators.it.accounts().filter((a) => a.employeeId === employee.employeeId && a.status === 'active')).toEqual([]);
    expect(stack.simulators.it.orders().filter((o) => o.employeeId === employee.employeeId).map((o) => o.status)).toEqual(['cancelled']);
    expect(stack.simulators.hris.employees().find((e) => e.employeeId === employee.employeeId)).toMatchObject({ status: 'withdrawn' });
    expect(stack.simulators.esign.envelopes().find((e) => e.reference === runId)).toMatchObject({ status: 'voided' });

    const audit = (await getJson(`${stack.apiUrl}/runs/${runId}/audit`)).body.items as Array<{ action: string; details: Record<string, any> }>;
    const undone = audit.find((e) => e.action === 'hire.undone')!;
    expect(undone.details.reason).toBe('accepted a counter-offer');
    expect(undone.details.undone).toHaveLength(4);
    expect(undone.details.undone[0]).toMatch(/^(account|equipment order)/);
    for (const action of ['compensation.account_deactivated', 'compensation.equipment_cancelled', 'compensation.employee_withdrawn', 'compensation.offer_letter_voided']) {
      expect(audit.map((e) => e.action)).toContain(action);
    }
  });

  it('takes an offer recorded by hand over the API, and cancelling the run undoes what was done', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input: requisition('Data Engineer'), settings });
    const runId: string = started.body.runId;
    await approveThrough(runId, 'Data Engineer', ['taylor.brooks@example.com', 'jamie.ortiz@example.com']);
    const offer = { candidateId: 'phone-1', name: 'Ira Novak', email: 'ira.novak@mail.test', startDate: inDays(20), salary: 90_000, currency: 'EUR' };

    const refused = await postJson(`${stack.apiUrl}/runs/${runId}/events`, { source: 'ats', type: 'offer.accepted', data: { ...offer, email: 'not-an-address' } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ status: 'unmatched' });
    expect(refused.body.reason).toContain('email');
    const applied = await postJson(`${stack.apiUrl}/runs/${runId}/events`, { source: 'ats', type: 'offer.accepted', data: offer }, { 'idempotency-key': `offer-${runId}` });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ status: 'applied', runId });
    const again = await postJson(`${stack.apiUrl}/runs/${runId}/events`, { source: 'ats', type: 'offer.accepted', data: offer }, { 'idempotency-key': `offer-${runId}` });
    expect(again.body.eventId).toBe(applied.body.eventId);

    await stack.mail.waitFor((m) => m.to.includes('ira.novak@mail.test') && m.subject.startsWith('Your offer letter'));
    const cancelled = await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'The candidate took another offer' });
    expect(cancelled.status).toBe(202);
    await waitForRunStatus(stack, runId, 'cancelled');
    await waitUntil(async () => stack.simulators.esign.envelopes().find((e) => e.reference === runId)?.status === 'voided' || undefined, 'the offer letter voided');
    const audit = (await getJson(`${stack.apiUrl}/runs/${runId}/audit`)).body.items as Array<{ action: string; actor: string }>;
    expect(audit.find((e) => e.action === 'event.recorded')?.actor).toBe('ops.desk@example.com');
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['compensation.offer_letter_voided', 'hire.undone']));
  });

  it('closes the requisition when no offer is accepted in time', async () => {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input: requisition('QA Engineer'), settings: { ...settings, offerTimeout: '2s' } });
    const runId: string = started.body.runId;
    for (const approver of ['taylor.brooks@example.com', 'jamie.ortiz@example.com']) {
      const { link } = await waitForApprovalMail(stack, approver, { subject: /QA Engineer/ });
      await submitDecision(link, 'approve');
    }
    const run = await waitForRunStatus(stack, runId, 'expired');
    expect(run.failureReason).toContain('No offer was accepted');
    expect(stack.simulators.ats.requisitions().find((r) => r.reference === runId)).toMatchObject({ status: 'closed', closeReason: 'expired' });
    await stack.mail.waitFor((m) => m.to.includes(manager.email) && /expired/i.test(m.subject) && m.text.includes('QA Engineer'));
  });

  it('refuses a requisition with field errors', async () => {
    const bad = await postJson(`${stack.apiUrl}/runs`, {
      process: 'hiring',
      input: { ...requisition('X'), level: 'L9', salaryRange: { min: 100_000, max: 90_000, currency: 'EUR' }, closesOn: '2020-01-01' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['input.closesOn', 'input.level', 'input.role', 'input.salaryRange.max']);
  });
});
