import { z } from 'zod';
import type { ProcessDefinition } from './types.js';
import {
  approvalTimingSchema,
  fieldPathsOf,
  materialChangesSchema,
  requireLimitForDeadlineApproval,
  retryBudget,
  separationOfDutiesSchema,
  slaDuration,
  stepPolicySchema,
  stepTiming,
  type PolicyLimits,
} from './policy.js';
import { amountAtLeast, describeApprovers, describeDeadline } from './diagram.js';
import { currencySchema, moneyAmountSchema, personSchema } from './shared.js';
import { capexRun, capexStepIds, type CapexStepId } from './capex-flow.js';

export { capexApprovalChain, capexStepIds, type CapexApprovalStep, type CapexStepId } from './capex-flow.js';

export const capexInputSchema = z.object({
  title: z.string().trim().min(3, 'must be at least 3 characters').max(200),
  amount: moneyAmountSchema,
  currency: currencySchema,
  costCenter: z.string().trim().min(1, 'required').max(50),
  category: z.enum(['equipment', 'it-hardware', 'software', 'facilities', 'vehicles', 'other']),
  vendor: z.string().trim().min(1, 'required').max(200),
  justification: z.string().trim().min(10, 'must be at least 10 characters').max(5000),
  /** Who asks. Filled from the API key's person when absent; naming someone else needs runs:act-for-others. */
  requester: personSchema,
});

export type CapexInput = z.infer<typeof capexInputSchema>;

/** Capex policy: thresholds, each step's approvers and timing, separation of duties, what counts as material. */
export function capexPolicySchema(limits: PolicyLimits) {
  return z
    .strictObject({
      thresholds: z
        .strictObject({
          financeDirectorFrom: moneyAmountSchema.default(10_000).describe('From this amount the finance director approves too'),
          cfoFrom: moneyAmountSchema.default(100_000).describe('From this amount the CFO approves too'),
        })
        .prefault({})
        .refine((t) => t.cfoFrom > t.financeDirectorFrom, { message: 'cfoFrom must be greater than financeDirectorFrom', path: ['cfoFrom'] }),
      approval: approvalTimingSchema(limits).prefault({}).describe('Timing every step has unless the step says otherwise'),
      steps: z
        .strictObject({
          'line-manager': stepPolicySchema(limits, ['manager-of-requester']),
          'finance-director': stepPolicySchema(limits, ['role:finance-director']),
          cfo: stepPolicySchema(limits, ['role:cfo']),
        })
        .prefault({}),
      separationOfDuties: separationOfDutiesSchema(),
      materialChanges: materialChangesSchema(fieldPathsOf(capexInputSchema), [
        { field: 'amount', when: 'increased' },
        { field: 'currency', when: 'changed' },
        { field: 'vendor', when: 'changed' },
        { field: 'category', when: 'changed' },
      ]),
      /** PO creation retries up to this long. */
      purchaseOrderTimeout: retryBudget(limits).default('1h'),
      /** How long the requester has to resubmit after an approver asked for changes. */
      revisionTimeout: slaDuration(limits).default('7d'),
    })
    .superRefine(requireLimitForDeadlineApproval);
}

export type CapexPolicy = z.infer<ReturnType<typeof capexPolicySchema>>;

export const capexProcess: ProcessDefinition<CapexInput, CapexPolicy> = {
  title: 'Capex sign-off',
  description:
    'Capital expenditure request: approved by the line manager, plus the finance director from 10,000 and the CFO ' +
    'from 100,000 (policy). Full approval raises a purchase order in the ERP and tells the requester.',
  workflowType: 'capexWorkflow',
  inputSchema: capexInputSchema,
  policySchema: capexPolicySchema,
  whoMayStart: ['runs:start:capex'],
  editableFields: ['title', 'amount', 'currency', 'vendor', 'costCenter', 'category', 'justification'],
  slas: capexStepIds.map((step) => ({
    step,
    target: 'remind after 1d, SLA 3d (policy defaults)',
    onBreach: "escalate to the approver's manager, who has 2d; then the run expires (policy defaults)",
  })),
  diagram: (policy) => {
    const step = (id: CapexStepId) => ({ who: describeApprovers(policy.steps[id].approvers), deadline: describeDeadline(stepTiming(policy.approval, policy.steps[id])) });
    const rejected = 'rejected: the run ends and the requester is told; changes requested: back to the requester, then on from the first step still to approve';
    return [
      { id: 'line-manager', kind: 'approval', title: 'Line manager approval', ...step('line-manager'), otherwise: rejected },
      { id: 'finance-director', kind: 'approval', title: 'Finance director approval', when: amountAtLeast('amount', policy.thresholds.financeDirectorFrom), ...step('finance-director'), otherwise: rejected },
      { id: 'cfo', kind: 'approval', title: 'CFO approval', when: amountAtLeast('amount', policy.thresholds.cfoFrom), ...step('cfo'), otherwise: rejected },
      { id: 'purchase-order', kind: 'system', title: 'Purchase order raised', systems: ['ERP'], deadline: `retried up to ${policy.purchaseOrderTimeout}` },
      { id: 'end', kind: 'end', title: 'Requester told: approved, with the PO number' },
    ];
  },
  ...capexRun,
};
