import { z } from 'zod';
import {
  approvalTimingSchema,
  approverRefSchema,
  materialChangesSchema,
  requireLimitForDeadlineApproval,
  separationOfDutiesSchema,
  type PolicyLimits,
} from './policy.js';
import { personSchema } from './shared.js';
import { supplierRescreeningRun } from './supplier-rescreening-flow.js';
import { describeApprovers, describeDeadline } from './diagram.js';
import type { ProcessDefinition } from './types.js';

export const supplierRescreeningInputSchema = z.object({
  /** Who is told the result: usually the procurement lead. */
  requester: personSchema,
});
export type SupplierRescreeningInput = z.infer<typeof supplierRescreeningInputSchema>;

/** Re-screening policy: who decides a match, and their timing. Nothing a requester edits, so nothing is material. */
export function supplierRescreeningPolicySchema(limits: PolicyLimits) {
  return z
    .strictObject({
      approval: approvalTimingSchema(limits).prefault({}),
      complianceReviewers: z.array(approverRefSchema).min(1).default(['role:compliance']),
      // Each vendor's review is its own decision of the compliance desk: one person may decide many of them.
      separationOfDuties: separationOfDutiesSchema({ onePersonOneStep: false }),
      /** Vendors screened per workflow execution: the run continues as new after each page, so its history stays small. */
      vendorsPerExecution: z.number().int().min(1).max(500).default(200),
      materialChanges: materialChangesSchema(['requester'], []),
    })
    .superRefine(requireLimitForDeadlineApproval);
}
export type SupplierRescreeningPolicy = z.infer<ReturnType<typeof supplierRescreeningPolicySchema>>;

export const supplierRescreeningProcess: ProcessDefinition<SupplierRescreeningInput, SupplierRescreeningPolicy> = {
  title: 'Supplier re-screening',
  description:
    'Screens every active ERP vendor against the sanctions lists again. A match goes to compliance: approved, the ' +
    'vendor stays; rejected, it is blocked in the ERP. Meant to run from a schedule, e.g. yearly: ' +
    'POST /schedules {"id":"annual-supplier-rescreening","process":"supplier-rescreening","cron":"0 6 15 1 *",...}.',
  workflowType: 'supplierRescreeningWorkflow',
  inputSchema: supplierRescreeningInputSchema,
  policySchema: supplierRescreeningPolicySchema,
  whoMayStart: ['runs:start:supplier-rescreening', 'schedules:manage'],
  editableFields: [],
  slas: [{ step: 'compliance-review', target: 'remind after 1d, SLA 3d', onBreach: "the reviewer's manager gets it; then the vendor stays as it is" }],
  diagram: (policy) => [
    { id: 'rescreening', kind: 'system', title: `Every active vendor screened again, ${policy.vendorsPerExecution} per execution`, systems: ['ERP', 'screening'] },
    { id: 'compliance-review:*', kind: 'approval', title: 'Keep the vendor? (one step per match)', when: 'screening finds a match', who: describeApprovers(policy.complianceReviewers), deadline: describeDeadline(policy.approval), otherwise: 'rejected: the vendor is blocked in the ERP' },
    { id: 'end', kind: 'end', title: 'Requester told: screened, matches, blocked' },
  ],
  ...supplierRescreeningRun,
};
