import { durationMs } from './duration.js';
import { formatMoney } from './format.js';
import type { AcceptedOffer, HiringInput, HiringPolicy } from './hiring.js';
import type { ApprovalTiming } from './policy.js';
import { withFollowUp, workingTimeBefore } from './task-dates.js';
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

/** The step the preparation tasks belong to: the people who get the first day ready, after the systems did their part. */
export const PREPARATION_STEP = 'preparation';

export const preparationTaskKeys = ['it-setup', 'desk', 'manager-checklist'] as const;
export type PreparationTaskKey = (typeof preparationTaskKeys)[number];

/** What each preparation task asks, in general; a run's tasks name the hire, the order and the accounts. */
export const preparationTasks: Record<PreparationTaskKey, { title: string; instructions: string }> = {
  'it-setup': {
    title: 'Laptop and accounts',
    instructions: 'Set up the laptop from the equipment order with the standard image and enrol it, sign in once to each of the new hire’s accounts to check them, and have it ready to hand over on the first day.',
  },
  desk: { title: 'Desk', instructions: 'Prepare a desk for the new hire at their location (desk, chair, access badge) and record where it is.' },
  'manager-checklist': {
    title: 'Manager’s checklist',
    instructions: 'Before the first day: plan the first week and book a welcome lunch, pick an onboarding buddy, add them to team channels and recurring meetings, and set 30/60/90-day goals.',
  },
};

/** The hire as the preparation tasks need it, once the systems created the employee, accounts and order. */
export interface PreparedHire {
  input: HiringInput;
  offer: AcceptedOffer;
  employeeId: string;
  workEmail: string;
  equipmentOrderId: string;
  systems: string[];
}

/** A preparation task as the workflow opens it (it adds the step and the timing). */
export interface PreparationTask {
  key: PreparationTaskKey;
  title: string;
  instructions: string;
  candidateGroup?: string;
  assignee?: string;
  dueAt: number;
  followUpAt?: number;
}

const DAY_MS = 86_400_000;

/**
 * Due `dueBefore` of working time before the first day (00:00 UTC of the start date; weekends not counted). A
 * late hire's task whose moment has passed is due at the start of the first day, or by its end once that began.
 */
export function preparationDueAt(startDate: string, dueBefore: string, now: number): number {
  const firstDay = Date.parse(`${startDate}T00:00:00Z`);
  return [workingTimeBefore(firstDay, durationMs(dueBefore)), firstDay, firstDay + DAY_MS].find((moment) => moment > now) ?? now;
}

/** IT prepares the laptop and checks the accounts, facilities a desk, the hiring manager works through the checklist. */
export function preparationTaskSpecs(hire: PreparedHire, policy: HiringPolicy['preparation'], now: number): PreparationTask[] {
  const { input, offer } = hire;
  const who = `${offer.name} (${input.role}, ${input.department})`;
  const dates = (key: PreparationTaskKey) => withFollowUp(preparationDueAt(offer.startDate, policy[key].dueBefore, now), policy.followUpBeforeDue, now, 'working');
  const equipment = equipmentFor(input)
    .map((item) => `${item.quantity} × ${item.description}`)
    .join(', ');
  return [
    {
      key: 'it-setup',
      title: `Laptop and accounts for ${offer.name}, starting ${offer.startDate}`,
      instructions:
        `Equipment order ${hire.equipmentOrderId} (${equipment}) is on its way for ${who}. Set the laptop up with the standard image and enrol it; ` +
        `sign in once as ${hire.workEmail} to each account (${hire.systems.join(', ')}); have it ready to hand over in ${input.location} on ${offer.startDate}.`,
      candidateGroup: policy['it-setup'].candidateGroup,
      ...dates('it-setup'),
    },
    {
      key: 'desk',
      title: `Desk for ${offer.name} in ${input.location}, from ${offer.startDate}`,
      instructions: `Prepare a desk for ${who} in ${input.location} from ${offer.startDate}: desk, chair and an access badge at reception. Record the desk: ${input.hiringManager.name} is told where it is.`,
      candidateGroup: policy.desk.candidateGroup,
      ...dates('desk'),
    },
    {
      key: 'manager-checklist',
      title: `Your checklist for ${offer.name}, starting ${offer.startDate}`,
      instructions:
        `${offer.name} joins as ${input.role} on ${offer.startDate} (employee ${hire.employeeId}, ${hire.workEmail}). Before the first day: plan the first week ` +
        'and book a welcome lunch, pick an onboarding buddy, add them to team channels and recurring meetings, and set 30/60/90-day goals.',
      assignee: `person:${input.hiringManager.email}`,
      ...dates('manager-checklist'),
    },
  ];
}

/** What the preparation came to, for the requester's mail when the hire is complete. */
export function preparationFacts(outcomes: Array<{ key: string; holder: { name: string } | null; values: Record<string, unknown> | null }>): Array<{ label: string; value: string }> {
  const by = (key: PreparationTaskKey) => outcomes.find((task) => task.key === key);
  const facts: Array<{ label: string; value: string }> = [];
  const laptop = by('it-setup');
  if (laptop?.values) facts.push({ label: 'Laptop', value: `${String(laptop.values.assetTag)}, set up by ${laptop.holder?.name ?? 'IT'}` });
  const desk = by('desk');
  if (desk?.values) facts.push({ label: 'Desk', value: `${String(desk.values.desk)}, prepared by ${desk.holder?.name ?? 'facilities'}` });
  const checklist = by('manager-checklist');
  if (checklist?.values) facts.push({ label: 'Onboarding buddy', value: String(checklist.values.buddy) });
  return facts;
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
