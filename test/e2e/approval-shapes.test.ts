import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContractInput } from '../../processes/contract.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const people = {
  legal: 'lena.fischer@example.com',
  finance: 'priya.shah@example.com',
  security: 'omar.haddad@example.com',
  directors: ['dana.whitfield@example.com', 'riley.chen@example.com', 'sam.okafor@example.com'],
};

function contract(title: string, overrides: Partial<ContractInput> = {}): ContractInput {
  return {
    title,
    counterparty: 'Northwind Logistics',
    contractType: 'msa',
    annualValue: 120_000,
    currency: 'EUR',
    handlesPersonalData: true,
    summary: 'Three-year master services agreement for outbound freight.',
    requester: { name: 'Alex Rivera', email: 'alex.rivera@example.com' },
    ...overrides,
  };
}

const timing = { approval: { reminderAfter: '1h', timeout: '2h' } };

describe('approval step shapes with approvers acting at the same time', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function start(input: ContractInput, settings: object = timing): Promise<string> {
    const { status, body } = await postJson(`${stack.apiUrl}/runs`, { process: 'contract', input, settings });
    expect(status).toBe(201);
    return body.runId;
  }
  const linkFor = async (to: string, title: string) => (await waitForApprovalMail(stack, to, { subject: new RegExp(title) })).link;

  it('all-of review then a 2-of-3 quorum: concurrent votes, the race for the last vote has one winner', async () => {
    const runId = await start(contract('Freight MSA'));
    const reviewers = await Promise.all([people.legal, people.finance, people.security].map((p) => linkFor(p, 'Freight MSA')));
    const reviews = await Promise.all(reviewers.map((link) => submitDecision(link, 'approve')));
    expect(reviews.map((r) => r.status)).toEqual([200, 200, 200]);

    const directorLinks = await Promise.all(people.directors.map((p) => linkFor(p, 'Freight MSA')));
    expect((await submitDecision(directorLinks[0]!, 'approve')).status).toBe(200);
    // Two directors race for the one remaining vote: exactly one counts, the other is told it is not needed.
    const race = await Promise.all([submitDecision(directorLinks[1]!, 'approve'), submitDecision(directorLinks[2]!, 'approve')]);
    expect(race.map((r) => r.status).sort()).toEqual([200, 410]);
    expect(race.find((r) => r.status === 410)!.html).toContain('no longer needed');

    const run = await waitForRunStatus(stack, runId, 'completed');
    const signoff = run.approvals.filter((a: { step: string }) => a.step === 'signoff');
    expect(signoff.filter((a: { state: string }) => a.state === 'approved')).toHaveLength(2);
    expect(signoff.filter((a: { state: string }) => a.state === 'revoked')).toHaveLength(1);
    expect(run.timeline.filter((e: { action: string }) => e.action === 'approval.decided')).toHaveLength(5);
  });

  it('all-of closes at the first rejection and revokes the links no longer needed', async () => {
    const runId = await start(contract('Data processing addendum', { contractType: 'dpa', annualValue: 0.01 }));
    const [legal, finance, security] = await Promise.all([people.legal, people.finance, people.security].map((p) => linkFor(p, 'Data processing addendum')));
    expect((await submitDecision(legal!, 'approve')).status).toBe(200);
    expect((await submitDecision(security!, 'reject', 'No EU data residency')).status).toBe(200);
    const run = await waitForRunStatus(stack, runId, 'rejected');
    expect(run.failureReason).toBe('No EU data residency');
    const stale = await submitDecision(finance!, 'approve');
    expect(stale.status).toBe(410);
    expect(stale.html).toContain('no longer needed');
    expect(run.approvals.map((a: { state: string }) => a.state).sort()).toEqual(['approved', 'rejected', 'revoked']);
  });

  it('any-of: the first approval closes the step', async () => {
    const runId = await start(contract('Courier NDA', { contractType: 'nda', annualValue: 1, handlesPersonalData: false }), {
      ...timing,
      review: { approvers: ['role:legal', 'role:finance-director'], rule: { kind: 'any' } },
    });
    const [legal, finance] = await Promise.all([people.legal, people.finance].map((p) => linkFor(p, 'Courier NDA')));
    expect((await submitDecision(finance!, 'approve')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');
    expect((await fetch(legal!)).status).toBe(410);
  });

  it('k-of-n: the step is rejected once the quorum can no longer be reached', async () => {
    const runId = await start(contract('Warehouse lease', { contractType: 'other', annualValue: 900_000, handlesPersonalData: false }), {
      ...timing,
      review: { approvers: ['role:legal'], rule: { kind: 'all' } },
    });
    expect((await submitDecision(await linkFor(people.legal, 'Warehouse lease'), 'approve')).status).toBe(200);
    const links = await Promise.all(people.directors.map((p) => linkFor(p, 'Warehouse lease')));
    const votes = await Promise.all([submitDecision(links[0]!, 'reject', 'Too long a term'), submitDecision(links[1]!, 'reject', 'Rent above market')]);
    expect(votes.map((v) => v.status)).toEqual([200, 200]);
    await waitForRunStatus(stack, runId, 'rejected');
    expect((await submitDecision(links[2]!, 'approve')).status).toBe(410);
    const { body } = await getJson(`${stack.apiUrl}/runs/${runId}`);
    expect(body.approvals.filter((a: { step: string; state: string }) => a.step === 'signoff' && a.state === 'rejected')).toHaveLength(2);
  });
});
