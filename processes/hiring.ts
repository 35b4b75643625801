import { z } from 'zod';
import {
  approvalTimingSchema,
  boundedDuration,
  fieldPathsOf,
  materialChangesSchema,
  requireLimitForDeadlineApproval,
  roleSchema,
  separationOfDutiesSchema,
  slaDuration,
  stepPolicySchema,
  stepTiming,
  taskTimingSchema,
  type PolicyLimits,
} from './policy.js';
import { describeApprovers, describeDeadline, describeTaskDeadline } from './diagram.js';
import { currencySchema, moneyAmountSchema, personSchema } from './shared.js';
import { hiringRun, PREPARATION_STEP, preparationTasks, type PreparationTaskKey } from './hiring-flow.js';

export {
  acceptedOfferProblems,
  equipmentFor,
  hiringApprovalChain,
  preparationDueAt,
  preparationTaskSpecs,
  type HeadcountFacts,
  type HiringStep,
} from './hiring-flow.js';
import type { Duration, ProcessDefinition, TaskDefinition } from './types.js';

const isoDate = z.iso.date({ error: 'must be a date as YYYY-MM-DD' });

export const hiringInputSchema = z.object({
  role: z.string().trim().min(2, 'required').max(200).describe('Job title, e.g. "Senior Backend Engineer"'),
  department: z.string().trim().min(2, 'required').max(100).describe('As in the HRIS headcount plan, e.g. Engineering'),
  level: z.enum(['L1', 'L2', 'L3', 'L4', 'L5', 'L6', 'L7']),
  location: z.string().trim().min(2, 'required').max(200),
  salaryRange: z
    .object({ min: moneyAmountSchema, max: moneyAmountSchema, currency: currencySchema })
    .refine((range) => range.max >= range.min, { path: ['max'], message: 'must be at least the minimum' }),
  headcountJustification: z.string().trim().min(20, 'must be at least 20 characters').max(5000),
  hiringManager: personSchema,
  /** The requisition closes by itself if no offer is accepted by the end of this day (UTC). */
  closesOn: isoDate.refine((date) => date >= new Date().toISOString().slice(0, 10), 'must be today or later').optional(),
  requester: personSchema,
});
export type HiringInput = z.infer<typeof hiringInputSchema>;

/** Hiring policy: each step's approvers and timing, the offer and signature deadlines, accounts, controls. */
export function hiringPolicySchema(limits: PolicyLimits) {
  return z
    .strictObject({
      approval: approvalTimingSchema(limits).prefault({}),
      steps: z
        .strictObject({
          /** `{department}` is the requisition's department, lower-cased. */
          'department-head': stepPolicySchema(limits, ['role:department-head:{department}']),
          finance: stepPolicySchema(limits, ['role:finance-director']),
          'hr-business-partner': stepPolicySchema(limits, ['role:hr-business-partner']),
        })
        .prefault({}),
      separationOfDuties: separationOfDutiesSchema(),
      materialChanges: materialChangesSchema(fieldPathsOf(hiringInputSchema), [
        { field: 'salaryRange', when: 'changed' },
        { field: 'level', when: 'changed' },
        { field: 'location', when: 'changed' },
      ]),
      /** How long the requisition stays open for an accepted offer, when the input gives no closesOn. */
      offerTimeout: slaDuration(limits).default('60d'),
      /** How long the new hire has to sign the offer letter. */
      signatureTimeout: slaDuration(limits).default('14d'),
      /** How often the e-signature provider is asked; under the signing activity's 2-minute heartbeat timeout. */
      signaturePollInterval: boundedDuration('1s', '1m').default('30s'),
      /** Accounts every new hire gets. */
      systems: z.array(z.string().min(1)).min(1).default(['google-workspace', 'slack', 'hr-portal']),
      revisionTimeout: slaDuration(limits).default('7d'),
      preparation: preparationPolicySchema(limits),
    })
    .superRefine(requireLimitForDeadlineApproval);
}

/** Working time before the first day (00:00 UTC of the start date): Saturdays and Sundays are not counted. */
const dueBefore = (limits: PolicyLimits, days: Duration) =>
  slaDuration(limits).default(days).describe('Due this much working time before the start date (weekends not counted)');

/**
 * Who gets the first day ready and by when: IT's laptop and accounts, facilities' desk (each a candidate group,
 * one of whom claims it) and the hiring manager's checklist; how overdue ones are chased.
 */
function preparationPolicySchema(limits: PolicyLimits) {
  return taskTimingSchema(limits)
    .extend({
      'it-setup': z
        .strictObject({ candidateGroup: roleSchema.default('role:it').describe('Who prepares the laptop and checks the accounts'), dueBefore: dueBefore(limits, '5d') })
        .prefault({}),
      desk: z.strictObject({ candidateGroup: roleSchema.default('role:facilities').describe('Who prepares the desk'), dueBefore: dueBefore(limits, '3d') }).prefault({}),
      'manager-checklist': z.strictObject({ dueBefore: dueBefore(limits, '1d') }).prefault({}),
      followUpBeforeDue: slaDuration(limits).default('1d').describe('A follow-up mail this long before a task is due'),
    })
    .prefault({});
}
export type HiringPolicy = z.infer<ReturnType<typeof hiringPolicySchema>>;

/** The accepted offer, as the ATS reports it (event offer.accepted). */
export const acceptedOfferSchema = z.object({
  candidateId: z.string().min(1),
  name: z.string().min(1),
  email: z.email(),
  startDate: isoDate,
  salary: z.number().positive(),
  currency: currencySchema,
});
/** The same rules as acceptedOfferProblems (hiring-flow.ts), which the workflow applies without zod. */
export type AcceptedOffer = z.infer<typeof acceptedOfferSchema>;

const notes = z.string().trim().max(2000, 'keep it under 2000 characters').optional();

/** A preparation task's form; `ticked` are the boxes that must be ticked to complete it. */
function preparationForm(key: PreparationTaskKey, fields: z.ZodRawShape, ticked: Record<string, string>): TaskDefinition {
  const schema = z.object({ ...fields, notes: notes.describe('Anything the manager or the new hire should know') });
  return {
    ...preparationTasks[key],
    schema,
    validatorFor: () =>
      schema.superRefine((values: Record<string, unknown>, ctx) => {
        for (const [field, message] of Object.entries(ticked)) if (values[field] !== true) ctx.addIssue({ code: 'custom', path: [field], message });
      }),
  };
}

const required = (max: number) => z.string().trim().min(1, 'required').max(max, `keep it under ${max} characters`);

export const preparationForms: Record<PreparationTaskKey, TaskDefinition> = {
  'it-setup': preparationForm(
    'it-setup',
    {
      assetTag: required(50).describe('The laptop’s asset tag, e.g. LT-04711'),
      accountsChecked: z.boolean().describe('Tick once you signed in to each of the new hire’s accounts'),
    },
    { accountsChecked: 'sign in to each account first, then tick it' },
  ),
  desk: preparationForm(
    'desk',
    {
      desk: required(50).describe('Where the desk is, e.g. B2.14'),
      badgeReady: z.boolean().describe('Tick once the access badge waits at reception'),
    },
    { badgeReady: 'the badge must be ready for the first day: tick it once it is' },
  ),
  'manager-checklist': preparationForm(
    'manager-checklist',
    {
      firstWeekPlanned: z.boolean().describe('The first week is planned and a welcome lunch booked'),
      buddy: required(200).describe('The onboarding buddy’s name'),
      channelsAndMeetings: z.boolean().describe('Added to team channels and recurring meetings'),
      goalsSet: z.boolean().describe('30/60/90-day goals set'),
    },
    {
      firstWeekPlanned: 'tick it once the first week is planned',
      channelsAndMeetings: 'tick it once they are in the team’s channels and meetings',
      goalsSet: 'tick it once the goals are set',
    },
  ),
};

export const hiringProcess: ProcessDefinition<HiringInput, HiringPolicy> = {
  title: 'Hiring',
  description:
    'A requisition: the HRIS headcount plan and salary band are checked; the department head approves, finance too ' +
    'when the hire is over plan or above band, then the HR business partner. The requisition opens in the ATS and ' +
    'the run waits for an accepted offer (event offer.accepted from the ATS). Then the offer letter goes out for ' +
    'e-signature; once signed the employee is created in the HRIS, accounts and equipment are provisioned in ' +
    'parallel, and the new hire is mailed. Then the first day is prepared by people, as tasks due before the start ' +
    'date: IT sets up the laptop and checks the accounts, facilities prepares a desk, the hiring manager works through ' +
    'the checklist. Until the tasks are done and the start date has come, a withdrawal (offer.withdrawn) undoes what ' +
    'was done: open tasks are closed and whoever did or held one is told to undo it.',
  workflowType: 'hiringWorkflow',
  inputSchema: hiringInputSchema,
  policySchema: hiringPolicySchema,
  whoMayStart: ['runs:start:hiring'],
  editableFields: ['role', 'location', 'salaryRange', 'headcountJustification', 'closesOn'],
  slas: [
    { step: 'department-head / finance / hr-business-partner', target: 'remind after 1d, SLA 3d', onBreach: "the approver's manager gets the request; then the run expires" },
    { step: 'awaiting-offer', target: 'offer accepted by closesOn (default 60d)', onBreach: 'the requisition is closed in the ATS' },
    { step: 'offer-signature', target: 'signed within 14d', onBreach: 'the offer letter is voided and the run expires' },
    {
      step: PREPARATION_STEP,
      target: 'laptop 5d, desk 3d, checklist 1d of working time before the start date (policy)',
      onBreach: "reminders every 1d, then the task goes to its holder's manager after 1d; the run completes once every task is done",
    },
  ],
  tasks: preparationForms,
  events: {
    consumes: [
      // The ATS carries our run id as the requisition's reference.
      { source: 'ats', type: 'offer.accepted', correlationKey: (data) => data.requisitionReference },
      { source: 'ats', type: 'offer.withdrawn', correlationKey: (data) => data.requisitionReference },
    ],
  },
  diagram: (policy) => {
    const step = (id: 'department-head' | 'finance' | 'hr-business-partner') => ({ who: describeApprovers(policy.steps[id].approvers).replace('{department}', '<department>'), deadline: describeDeadline(stepTiming(policy.approval, policy.steps[id])) });
    const undo = 'offer.withdrawn before the start date: everything done since the offer is undone in reverse (compensation)';
    const prep = policy.preparation;
    return [
      { id: 'headcount-check', kind: 'system', title: 'Headcount plan and salary band checked', systems: ['HRIS'] },
      { id: 'department-head', kind: 'approval', title: 'Head of the department', ...step('department-head') },
      { id: 'finance', kind: 'approval', title: 'Finance', when: 'the hire is over the headcount plan or above the salary band', ...step('finance') },
      { id: 'hr-business-partner', kind: 'approval', title: 'HR business partner', ...step('hr-business-partner') },
      { id: 'open-requisition', kind: 'system', title: 'Requisition opened', systems: ['ATS'] },
      { id: 'awaiting-offer', kind: 'wait', title: 'Waits for an accepted offer (ats/offer.accepted)', deadline: `until closesOn, else ${policy.offerTimeout}; then the requisition closes and the run expires` },
      { id: 'offer-signature', kind: 'system', title: 'Offer letter signed', systems: ['e-signature'], deadline: `signed within ${policy.signatureTimeout}, else voided`, otherwise: undo },
      { id: 'create-employee', kind: 'system', title: 'Employee created', systems: ['HRIS'], otherwise: undo },
      { id: 'provisioning', kind: 'system', title: 'Accounts and equipment, in parallel', systems: ['IT'], otherwise: undo },
      {
        id: PREPARATION_STEP,
        kind: 'task',
        title: 'The first day prepared, in parallel: laptop and accounts, a desk, the manager’s checklist',
        who: `laptop and accounts: ${describeApprovers([prep['it-setup'].candidateGroup])} (one of them claims it); desk: ${describeApprovers([prep.desk.candidateGroup])} (one of them claims it); checklist: the hiring manager`,
        deadline: describeTaskDeadline(
          `${prep['it-setup'].dueBefore}, ${prep.desk.dueBefore} and ${prep['manager-checklist'].dueBefore} of working time before the start date (weekends not counted)`,
          prep,
        ),
        otherwise: 'offer.withdrawn while a task is open (even past the start date): undone as below; open tasks are closed and whoever did or held one is told to undo it',
      },
      { id: 'awaiting-start-date', kind: 'wait', title: 'Waits for the start date', otherwise: undo },
      { id: 'compensation', kind: 'system', title: 'Undo after a withdrawal or cancellation', when: 'the offer is withdrawn or the run cancelled', systems: ['IT', 'HRIS', 'e-signature', 'ATS'] },
      { id: 'end', kind: 'end', title: 'Requester told: hired' },
    ];
  },
  ...hiringRun,
};
