import { describe, expect, it } from 'vitest';
import { acceptedOfferProblems, acceptedOfferSchema, equipmentFor, hiringApprovalChain, hiringInputSchema, hiringPolicySchema, type HeadcountFacts, type HiringInput } from '../../processes/hiring.js';
import { productionLimits } from '../../processes/policy.js';

const input: HiringInput = hiringInputSchema.parse({
  role: 'Controller',
  department: 'Finance',
  level: 'L4',
  location: 'Berlin',
  salaryRange: { min: 80_000, max: 100_000, currency: 'EUR' },
  headcountJustification: 'Month-end close needs a second controller.',
  hiringManager: { name: 'Priya Shah', email: 'priya.shah@example.com' },
  requester: { name: 'Priya Shah', email: 'priya.shah@example.com' },
});
const settings = hiringPolicySchema(productionLimits).parse({});
const facts = (overrides: Partial<HeadcountFacts> = {}): HeadcountFacts => ({ overPlan: false, aboveBand: false, available: 2, band: { min: 80_000, max: 105_000, currency: 'EUR' }, ...overrides });
const steps = (i: HiringInput, f: HeadcountFacts) => hiringApprovalChain(i, f, settings).map((s) => s.stepId);

describe('hiring approval chain', () => {
  it('is department head then HR business partner within plan and band', () => {
    expect(steps(input, facts())).toEqual(['department-head', 'hr-business-partner']);
    expect(hiringApprovalChain(input, facts(), settings)[0]!.approvers).toEqual(['role:department-head:finance']);
  });

  it('adds finance when the hire is over the headcount plan, or the range tops the band, and says why', () => {
    expect(steps(input, facts({ overPlan: true, available: 0 }))).toEqual(['department-head', 'finance', 'hr-business-partner']);
    const aboveBand = { ...input, salaryRange: { ...input.salaryRange, max: 110_000 } };
    const chain = hiringApprovalChain(aboveBand, facts(), settings);
    expect(chain.map((s) => s.stepId)).toEqual(['department-head', 'finance', 'hr-business-partner']);
    expect(chain[1]!.title).toContain('above the L4 band');
  });

  it('orders more screens for senior levels and a bigger laptop for engineering', () => {
    expect(equipmentFor({ level: 'L6', department: 'Engineering' }).map((i) => [i.sku, i.quantity])).toEqual([['LAPTOP-PRO-16', 1], ['MON-27', 2], ['HEADSET-1', 1]]);
    expect(equipmentFor({ level: 'L2', department: 'Sales' })[0]!.sku).toBe('LAPTOP-STD-14');
  });
});

describe('accepted offer check (the workflow’s, without zod)', () => {
  const offer = { candidateId: 'CAND-1', name: 'Noa Levi', email: 'noa.levi@mail.test', startDate: '2027-02-01', salary: 95_000, currency: 'EUR' };
  it.each([
    [{}],
    [{ candidateId: '' }],
    [{ email: 'not-an-address' }],
    [{ startDate: '2027-02-30' }],
    [{ startDate: '01.02.2027' }],
    [{ salary: 0 }],
    [{ salary: '95000' }],
    [{ currency: 'eur' }],
  ])('agrees with the zod schema on %j', (override) => {
    const data = { ...offer, ...override };
    expect(acceptedOfferProblems(data) === undefined).toBe(acceptedOfferSchema.safeParse(data).success);
  });
  it('names what is wrong', () => {
    expect(acceptedOfferProblems({ ...offer, salary: -1, startDate: 'soon' })).toBe('startDate: must be a date as YYYY-MM-DD; salary: must be a positive number');
  });
});
