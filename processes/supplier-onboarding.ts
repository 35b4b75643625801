import { z } from 'zod';
import {
  approvalTimingSchema,
  approverRefSchema,
  fieldPathsOf,
  materialChangesSchema,
  requireLimitForDeadlineApproval,
  retryBudget,
  separationOfDutiesSchema,
  slaDuration,
  type PolicyLimits,
} from './policy.js';
import { currencySchema, moneyAmountSchema, personSchema } from './shared.js';
import { supplierDetailsFor, supplierDetailsSchema } from './supplier-details.js';
import { supplierOnboardingRun } from './supplier-onboarding-flow.js';
import { describeApprovers, describeDeadline } from './diagram.js';

export { supplierReviewers } from './supplier-onboarding-flow.js';
import type { ProcessDefinition } from './types.js';

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
  details: z.unknown().optional(),
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
      /** Procurement always, finance for the bank details. */
      reviewers: z.array(approverRefSchema).min(1).default(['role:procurement', 'role:finance-director']),
      /** Added when the supplier handles personal or confidential data. */
      personalDataReviewers: z.array(approverRefSchema).default(['role:security']),
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

export const supplierOnboardingProcess: ProcessDefinition<SupplierOnboardingInput, SupplierOnboardingPolicy> = {
  title: 'Supplier onboarding',
  description:
    'Procurement asks for a new supplier. Sanctions and risk screening first (a hit goes to compliance, who decide); ' +
    'then the supplier fills in their own details through an e-mailed link (tax id, address, bank account, ' +
    'certificates, checked by country); procurement, finance and, when data is handled, security review in ' +
    'parallel; the vendor is created in the ERP and both sides are told. Approved suppliers are screened again ' +
    'every year (process supplier-rescreening, run by a schedule).',
  workflowType: 'supplierOnboardingWorkflow',
  inputSchema: supplierOnboardingInputSchema,
  policySchema: supplierOnboardingPolicySchema,
  whoMayStart: ['runs:start:supplier-onboarding'],
  editableFields: ['legalName', 'category', 'expectedAnnualSpend', 'currency'],
  slas: [
    { step: 'compliance-review', target: 'remind after 1d, SLA 3d', onBreach: "the reviewer's manager gets it; then the run expires" },
    { step: 'supplier-details', target: 'supplier answers within 14d', onBreach: 'the link expires and the run expires' },
    { step: 'reviews', target: 'remind after 1d, SLA 3d', onBreach: "each silent reviewer's manager gets it; then the run expires" },
  ],
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
    { id: 'reviews', kind: 'approval', title: 'Procurement, finance and security review', who: `${describeApprovers(policy.reviewers, { kind: 'all' })}; plus ${describeApprovers(policy.personalDataReviewers)} when data is handled`, deadline: describeDeadline(policy.approval) },
    { id: 'create-vendor', kind: 'system', title: 'Vendor created', systems: ['ERP'], deadline: `retried up to ${policy.vendorTimeout}` },
    { id: 'end', kind: 'end', title: 'Supplier and requester told' },
  ],
  ...supplierOnboardingRun,
};
