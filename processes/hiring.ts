import { z } from 'zod';
import {
  approvalTimingSchema,
  boundedDuration,
  fieldPathsOf,
  materialChangesSchema,
  requireLimitForDeadlineApproval,
  separationOfDutiesSchema,
  slaDuration,
  stepPolicySchema,
  stepTiming,
  type PolicyLimits,
} from './policy.js';
import { describeApprovers, describeDeadline } from './diagram.js';
import { currencySchema, moneyAmountSchema, personSchema } from './shared.js';
import { hiringRun } from './hiring-flow.js';

export { acceptedOfferProblems, equipmentFor, hiringApprovalChain, type HeadcountFacts, type HiringStep } from './hiring-flow.js';
import type { ProcessDefinition } from './types.js';

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
    })
    .superRefine(requireLimitForDeadlineApproval);
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

export const hiringProcess: ProcessDefinition<HiringInput, HiringPolicy> = {
  title: 'Hiring',
  description:
    'A requisition: the HRIS headcount plan and salary band are checked; the department head approves, finance too ' +
    'when the hire is over plan or above band, then the HR business partner. The requisition opens in the ATS and ' +
    'the run waits for an accepted offer (event offer.accepted from the ATS). Then the offer letter goes out for ' +
    'e-signature; once signed the employee is created in the HRIS, accounts and equipment are provisioned in ' +
    'parallel, and the new hire and manager are mailed. A withdrawal (offer.withdrawn) before the start date undoes ' +
    'what was done.',
  workflowType: 'hiringWorkflow',
  inputSchema: hiringInputSchema,
  policySchema: hiringPolicySchema,
  whoMayStart: ['runs:start:hiring'],
  editableFields: ['role', 'location', 'salaryRange', 'headcountJustification', 'closesOn'],
  slas: [
    { step: 'department-head / finance / hr-business-partner', target: 'remind after 1d, SLA 3d', onBreach: "the approver's manager gets the request; then the run expires" },
    { step: 'awaiting-offer', target: 'offer accepted by closesOn (default 60d)', onBreach: 'the requisition is closed in the ATS' },
    { step: 'offer-signature', target: 'signed within 14d', onBreach: 'the offer letter is voided and the run expires' },
  ],
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
      { id: 'awaiting-start-date', kind: 'wait', title: 'Waits for the start date', otherwise: undo },
      { id: 'compensation', kind: 'system', title: 'Undo after a withdrawal or cancellation', when: 'the offer is withdrawn or the run cancelled', systems: ['IT', 'HRIS', 'e-signature', 'ATS'] },
      { id: 'end', kind: 'end', title: 'Requester told: hired' },
    ];
  },
  ...hiringRun,
};
