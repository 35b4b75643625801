import { describe, expect, it } from 'vitest';
import {
  acceptedOfferProblems,
  acceptedOfferSchema,
  equipmentFor,
  hiringApprovalChain,
  hiringInputSchema,
  hiringPolicySchema,
  preparationDueAt,
  preparationForms,
  preparationTaskSpecs,
  type HeadcountFacts,
  type HiringInput,
} from '../../processes/hiring.js';
import { productionLimits } from '../../processes/policy.js';
import { workingTimeBefore } from '../../processes/task-dates.js';

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

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('preparation tasks: due before the start date in working time', () => {
  // 2027-03-01 is a Monday, 2027-03-03 a Wednesday.
  it('counts Monday to Friday only', () => {
    expect(workingTimeBefore(at('2027-03-01T00:00:00Z'), 5 * DAY)).toBe(at('2027-02-22T00:00:00Z'));
    expect(workingTimeBefore(at('2027-03-01T00:00:00Z'), 3 * DAY)).toBe(at('2027-02-24T00:00:00Z'));
    expect(workingTimeBefore(at('2027-03-01T00:00:00Z'), DAY)).toBe(at('2027-02-26T00:00:00Z'));
    expect(workingTimeBefore(at('2027-03-01T00:00:00Z'), HOUR)).toBe(at('2027-02-26T23:00:00Z'));
    expect(workingTimeBefore(at('2027-03-03T00:00:00Z'), 3 * DAY)).toBe(at('2027-02-26T00:00:00Z'));
    expect(workingTimeBefore(at('2027-03-03T12:00:00Z'), 12 * HOUR)).toBe(at('2027-03-03T00:00:00Z'));
  });

  it('gives a late hire’s task the first day’s start, then its end, then now', () => {
    expect(preparationDueAt('2027-03-01', '5d', at('2027-02-10T00:00:00Z'))).toBe(at('2027-02-22T00:00:00Z'));
    expect(preparationDueAt('2027-03-01', '5d', at('2027-02-25T09:00:00Z'))).toBe(at('2027-03-01T00:00:00Z'));
    expect(preparationDueAt('2027-03-01', '5d', at('2027-03-01T09:00:00Z'))).toBe(at('2027-03-02T00:00:00Z'));
    expect(preparationDueAt('2027-03-01', '5d', at('2027-03-05T09:00:00Z'))).toBe(at('2027-03-05T09:00:00Z'));
  });

  it('goes to IT and facilities as groups and to the hiring manager in person, each due by the policy with a follow-up a working day before', () => {
    const offer = { candidateId: 'C-1', name: 'Noa Levi', email: 'noa.levi@mail.test', startDate: '2027-03-01', salary: 95_000, currency: 'EUR' };
    const hire = { input, offer, employeeId: 'E-7', workEmail: 'noa.levi@example.com', equipmentOrderId: 'EQ-9', systems: ['google-workspace', 'slack'] };
    const specs = preparationTaskSpecs(hire, settings.preparation, at('2027-02-01T00:00:00Z'));
    expect(specs.map((t) => [t.key, t.candidateGroup ?? t.assignee, new Date(t.dueAt).toISOString(), new Date(t.followUpAt!).toISOString()])).toEqual([
      ['it-setup', 'role:it', '2027-02-22T00:00:00.000Z', '2027-02-19T00:00:00.000Z'],
      ['desk', 'role:facilities', '2027-02-24T00:00:00.000Z', '2027-02-23T00:00:00.000Z'],
      ['manager-checklist', 'person:priya.shah@example.com', '2027-02-26T00:00:00.000Z', '2027-02-25T00:00:00.000Z'],
    ]);
    expect(specs[0]!.instructions).toContain('Equipment order EQ-9 (1 × Laptop, 14", 16 GB, 1 × Monitor, 27", 1 × Headset)');
    expect(specs[0]!.instructions).toContain('sign in once as noa.levi@example.com to each account (google-workspace, slack)');
  });

  it('bounds the durations like other policy durations', () => {
    const tooShort = hiringPolicySchema(productionLimits).safeParse({ preparation: { desk: { dueBefore: '30m' } } });
    expect(tooShort.success).toBe(false);
    expect(tooShort.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['preparation.desk.dueBefore', 'must be at least 1h']]);
  });

  it('completes only with the form filled in and the boxes ticked', () => {
    const checklist = preparationForms['manager-checklist'].validatorFor(input);
    const refused = checklist.safeParse({ firstWeekPlanned: true, buddy: '', channelsAndMeetings: false, goalsSet: true });
    expect(refused.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['buddy', 'channelsAndMeetings']);
    expect(checklist.safeParse({ firstWeekPlanned: true, buddy: 'Sam Rivers', channelsAndMeetings: true, goalsSet: true }).success).toBe(true);
    expect(preparationForms['it-setup'].validatorFor(input).safeParse({ assetTag: 'LT-1', accountsChecked: false }).error?.issues[0]?.message).toBe('sign in to each account first, then tick it');
  });
});
