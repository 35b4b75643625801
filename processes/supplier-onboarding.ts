import { z } from 'zod';
import {
  approvalTimingSchema,
  approverRefSchema,
  fieldPathsOf,
  materialChangesSchema,
  requireLimitForDeadlineApproval,
  retryBudget,
  roleSchema,
  separationOfDutiesSchema,
  slaDuration,
  taskTimingSchema,
  type PolicyLimits,
} from './policy.js';
import { currencySchema, moneyAmountSchema, personSchema } from './shared.js';
import { supplierDetailsFor, supplierDetailsSchema } from './supplier-details.js';
import { SECURITY_CHECK_STEP, securityCheckTask, supplierOnboardingRun } from './supplier-onboarding-flow.js';
import { describeApprovers, describeDeadline, describeTaskDeadline } from './diagram.js';

export { securityCheckSpec, supplierReviewers } from './supplier-onboarding-flow.js';
import type { ProcessDefinition, TaskDefinition } from './types.js';

export const supplierOnboardingInputSchema = z.object({
  legalName: z.string().trim().min(2, 'required').max(300),
  country: z.string().trim().toUpperCase().regex(/^[A-Z]{2}$/, 'must be a two-letter country code such as DE'),
  contact: personSchema.describe("The supplier's contact, who fills in their company details"),
  category: z.enum(['raw-materials', 'logistics', 'it-services', 'professional-services', 'facilities', 'marketing', 'other']),
  expectedAnnualSpend: moneyAmountSchema,
  currency: currencySchema,
  handlesPersonalData: z.boolean().describe('Will the supplier handle personal or confidential data? Security then reviews it.'),
  requester: personSchema,
  /** Filled in by the supplier through their link; absent until then. */
  details: z.unknown().optional().describe('Filled in by the supplier through their link during the run; refused at the start'),
  /** What the security check task came to (supplier-onboarding-flow.ts); the run fills it in, never the requester. */
  securityCheck: z.unknown().optional().describe('Filled in by the security check task during the run; refused at the start'),
});
export type SupplierOnboardingInput = z.infer<typeof supplierOnboardingInputSchema>;

/** Supplier onboarding policy: who reviews screening matches and the supplier, timing, controls. */
export function supplierOnboardingPolicySchema(limits: PolicyLimits) {
  const fields = [...fieldPathsOf(supplierOnboardingInputSchema), ...fieldPathsOf(supplierDetailsSchema, 'details')];
  return z
    .strictObject({
      approval: approvalTimingSchema(limits).prefault({}),
      /** Who decides a screening match. */
      complianceReviewers: z.array(approverRefSchema).min(1).default(['role:compliance']),
      /** Procurement always, finance for the bank details: they sign off. */
      reviewers: z.array(approverRefSchema).min(1).default(['role:procurement', 'role:finance-director']),
      /** The security check of a supplier that handles personal or confidential data: a task for the group. */
      securityCheck: taskTimingSchema(limits)
        .extend({
          candidateGroup: roleSchema.default('role:security').describe('Anyone holding this role may claim the security check'),
          dueIn: slaDuration(limits).default('3d').describe('The check is due this long after the supplier sent their details'),
          followUpBeforeDue: slaDuration(limits).default('1d').describe('A follow-up mail this long before the check is due'),
        })
        .prefault({}),
      /**
       * Runs that began before the security review became a task: these approved in the review step when data was
       * handled. Read by those runs only; kept so stored policies that name it still read.
       */
      personalDataReviewers: z.array(approverRefSchema).optional().describe('No longer used by new runs: the security check (securityCheck) replaced it'),
      separationOfDuties: separationOfDutiesSchema(),
      materialChanges: materialChangesSchema(fields, [
        { field: 'details.bank', when: 'changed' },
        { field: 'country', when: 'changed' },
        { field: 'legalName', when: 'changed' },
        { field: 'expectedAnnualSpend', when: 'increased' },
      ]),
      /** How long the supplier's form link stays valid. */
      detailsTimeout: slaDuration(limits).default('14d'),
      /** Vendor creation in the ERP retries up to this long. */
      vendorTimeout: retryBudget(limits).default('1h'),
      revisionTimeout: slaDuration(limits).default('7d'),
    })
    .superRefine(requireLimitForDeadlineApproval);
}
export type SupplierOnboardingPolicy = z.infer<ReturnType<typeof supplierOnboardingPolicySchema>>;

const securityCheckSchema = z.object({
  verdict: z.enum(['acceptable', 'acceptable-with-conditions', 'not-acceptable']).describe('May the supplier handle our personal or confidential data?'),
  questionnaireComplete: z.boolean().describe('Tick when the security questionnaire is complete and matches the certificates'),
  findings: z.string().trim().max(2000, 'keep it under 2000 characters').optional().describe('What you found; the sign-off reads it'),
});

export const securityCheckForm: TaskDefinition = {
  ...securityCheckTask,
  schema: securityCheckSchema,
  validatorFor: () =>
    securityCheckSchema.superRefine((values, ctx) => {
      if (values.verdict !== 'not-acceptable' && !values.questionnaireComplete) {
        ctx.addIssue({ code: 'custom', path: ['questionnaireComplete'], message: 'a supplier is acceptable only with a complete questionnaire: tick it, or choose not acceptable' });
      }
      if (values.verdict !== 'acceptable' && !values.findings) ctx.addIssue({ code: 'custom', path: ['findings'], message: 'say what the conditions are, or why it is not acceptable' });
    }),
};

export const supplierOnboardingProcess: ProcessDefinition<SupplierOnboardingInput, SupplierOnboardingPolicy> = {
  title: 'Supplier onboarding',
  description:
    'Procurement asks for a new supplier. Sanctions and risk screening first (a hit goes to compliance, who decide); ' +
    'then the supplier fills in their own details through an e-mailed link (tax id, address, bank account, ' +
    'certificates, checked by country); when the supplier will handle personal or confidential data, security ' +
    'checks their questionnaire and certificates as a task (not acceptable ends it); procurement and finance sign ' +
    'off in parallel with that verdict in view; the vendor is created in the ERP and both sides are told. Approved ' +
    'suppliers are screened again every year (process supplier-rescreening, run by a schedule).',
  workflowType: 'supplierOnboardingWorkflow',
  inputSchema: supplierOnboardingInputSchema,
  policySchema: supplierOnboardingPolicySchema,
  whoMayStart: ['runs:start:supplier-onboarding'],
  editableFields: ['legalName', 'category', 'expectedAnnualSpend', 'currency'],
  slas: [
    { step: 'compliance-review', target: 'remind after 1d, SLA 3d', onBreach: "the reviewer's manager gets it; then the run expires" },
    { step: 'supplier-details', target: 'supplier answers within 14d', onBreach: 'the link expires and the run expires' },
    { step: SECURITY_CHECK_STEP, target: 'due 3d after the details arrive (policy)', onBreach: "reminders every 1d, then the check goes to its holder's manager after 1d" },
    { step: 'reviews', target: 'remind after 1d, SLA 3d', onBreach: "each silent reviewer's manager gets it; then the run expires" },
  ],
  tasks: { [SECURITY_CHECK_STEP]: securityCheckForm },
  filledByRun: ['securityCheck'],
  forms: {
    details: {
      title: 'Your company details for supplier set-up',
      intro: 'We need these to set you up as a supplier and pay you. They go only to our procurement and finance teams.',
      schema: supplierDetailsSchema,
      rows: 2,
      validatorFor: (input) => {
        const supplier = input as SupplierOnboardingInput;
        return supplierDetailsFor({ country: supplier.country, handlesPersonalData: supplier.handlesPersonalData });
      },
    },
  },
  diagram: (policy) => [
    { id: 'screening', kind: 'system', title: 'Sanctions and risk screening', systems: ['screening'] },
    { id: 'compliance-review', kind: 'approval', title: 'Compliance review of the match', when: 'screening finds a match', who: describeApprovers(policy.complianceReviewers), deadline: describeDeadline(policy.approval), otherwise: 'rejected: the supplier is never created or asked for details' },
    { id: 'supplier-details', kind: 'form', title: 'The supplier fills in tax, address, bank and certificates', who: "the supplier's contact, by e-mailed link", deadline: `within ${policy.detailsTimeout}, else the run expires` },
    {
      id: SECURITY_CHECK_STEP,
      kind: 'task',
      title: 'Security check of the questionnaire and certificates',
      when: 'the supplier handles personal or confidential data',
      who: `${describeApprovers([policy.securityCheck.candidateGroup])} (one of them claims it)`,
      deadline: describeTaskDeadline(`${policy.securityCheck.dueIn} after the details arrive`, policy.securityCheck),
      otherwise: 'not acceptable: the run ends rejected, the supplier is never created',
    },
    { id: 'reviews', kind: 'approval', title: 'Procurement and finance sign off, with the security check in view', who: describeApprovers(policy.reviewers, { kind: 'all' }), deadline: describeDeadline(policy.approval) },
    { id: 'create-vendor', kind: 'system', title: 'Vendor created', systems: ['ERP'], deadline: `retried up to ${policy.vendorTimeout}` },
    { id: 'end', kind: 'end', title: 'Supplier and requester told' },
  ],
  ...supplierOnboardingRun,
};
