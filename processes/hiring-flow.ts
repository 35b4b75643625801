import { formatMoney } from './format.js';
import type { AcceptedOffer, HiringInput, HiringPolicy } from './hiring.js';
import type { ApprovalTiming } from './policy.js';
import { stepTiming } from './timing.js';
import type { RunShape } from './types.js';

/** What the hiring workflow needs of its process, without zod (see capex-flow.ts). */

/** What the HRIS says about the requisition before anyone approves it. */
export interface HeadcountFacts {
  overPlan: boolean;
  aboveBand: boolean;
  available: number;
  band: { min: number; max: number; currency: string };
}

/**
 * Why an offer.accepted event's data is not an accepted offer (undefined when it is), checked in the workflow's
 * Update validator: the same rules as acceptedOfferSchema in hiring.ts, written out so the bundle needs no zod.
 */
export function acceptedOfferProblems(data: Record<string, unknown>): string | undefined {
  const problems: string[] = [];
  const text = (field: keyof AcceptedOffer) => typeof data[field] === 'string' && (data[field] as string).length > 0;
  for (const field of ['candidateId', 'name'] as const) if (!text(field)) problems.push(`${field}: required`);
  if (!text('email') || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(data.email as string)) problems.push('email: must be an e-mail address');
  const date = typeof data.startDate === 'string' ? data.startDate : '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`)) || new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date) {
    problems.push('startDate: must be a date as YYYY-MM-DD');
  }
  if (typeof data.salary !== 'number' || !(data.salary > 0)) problems.push('salary: must be a positive number');
  if (typeof data.currency !== 'string' || !/^[A-Z]{3}$/.test(data.currency)) problems.push('currency: must be an ISO 4217 code');
  return problems.length ? problems.join('; ') : undefined;
}

export interface HiringStep {
  stepId: 'department-head' | 'finance' | 'hr-business-partner';
  title: string;
  approvers: string[];
  timing: ApprovalTiming;
}

/** Department head, then finance when the hire is over plan or above the band, then the HR business partner. */
export function hiringApprovalChain(input: HiringInput, facts: HeadcountFacts, policy: HiringPolicy): HiringStep[] {
  const department = input.department.toLowerCase();
  const step = (stepId: HiringStep['stepId'], title: string): HiringStep => ({
    stepId,
    title,
    approvers: policy.steps[stepId].approvers.map((ref) => ref.replaceAll('{department}', department)),
    timing: stepTiming(policy.approval, policy.steps[stepId]),
  });
  const aboveBand = input.salaryRange.max > facts.band.max;
  const steps: HiringStep[] = [step('department-head', `Head of ${input.department}`)];
  if (facts.overPlan || aboveBand) {
    const why = [facts.overPlan ? 'over the headcount plan' : '', aboveBand ? `above the ${input.level} band` : ''].filter(Boolean).join(' and ');
    steps.push(step('finance', `Finance (${why})`));
  }
  steps.push(step('hr-business-partner', 'HR business partner'));
  return steps;
}

/** Laptop by level: what IT orders for a new hire. */
export function equipmentFor(input: Pick<HiringInput, 'level' | 'department'>) {
  const engineering = input.department.toLowerCase() === 'engineering';
  return [
    { sku: engineering ? 'LAPTOP-PRO-16' : 'LAPTOP-STD-14', description: engineering ? 'Laptop, 16", 32 GB' : 'Laptop, 14", 16 GB', quantity: 1 },
    { sku: 'MON-27', description: 'Monitor, 27"', quantity: ['L5', 'L6', 'L7'].includes(input.level) ? 2 : 1 },
    { sku: 'HEADSET-1', description: 'Headset', quantity: 1 },
  ];
}

export const hiringRun: RunShape<HiringInput> = {
  key: 'hiring',
  summarize: (input) => ({
    title: `${input.role} (${input.level}, ${input.department})`,
    requester: input.requester,
    amount: input.salaryRange.max,
    currency: input.salaryRange.currency,
    costCenter: input.department,
  }),
  describe: (input) => [
    { label: 'Role', value: `${input.role}, ${input.level}` },
    { label: 'Department', value: input.department },
    { label: 'Location', value: input.location },
    { label: 'Salary range', value: `${formatMoney(input.salaryRange.min, input.salaryRange.currency)} – ${formatMoney(input.salaryRange.max, input.salaryRange.currency)}` },
    { label: 'Hiring manager', value: `${input.hiringManager.name} <${input.hiringManager.email}>` },
    { label: 'Justification', value: input.headcountJustification },
  ],
};
