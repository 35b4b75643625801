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
  type ApprovalTiming,
  type PolicyLimits,
} from './policy.js';
import { currencySchema, formatMoney, moneyAmountSchema, personSchema } from './shared.js';

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

export const capexStepIds = ['line-manager', 'finance-director', 'cfo'] as const;
export type CapexStepId = (typeof capexStepIds)[number];


const stepMeta: Record<CapexStepId, { title: string; approvers: string[] }> = {
  'line-manager': { title: 'Line manager approval', approvers: ['manager-of-requester'] },
  'finance-director': { title: 'Finance director approval', approvers: ['role:finance-director'] },
  cfo: { title: 'CFO approval', approvers: ['role:cfo'] },
};

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
          'line-manager': stepPolicySchema(limits, stepMeta['line-manager'].approvers),
          'finance-director': stepPolicySchema(limits, stepMeta['finance-director'].approvers),
          cfo: stepPolicySchema(limits, stepMeta.cfo.approvers),
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

export interface CapexApprovalStep {
  stepId: CapexStepId;
  title: string;
  approvers: string[];
  timing: ApprovalTiming;
}

/** The approval chain grows with the amount: line manager, then finance director, then CFO. */
export function capexApprovalChain(input: Pick<CapexInput, 'amount'>, policy: CapexPolicy): CapexApprovalStep[] {
  const steps: CapexStepId[] = ['line-manager'];
  if (input.amount >= policy.thresholds.financeDirectorFrom) steps.push('finance-director');
  if (input.amount >= policy.thresholds.cfoFrom) steps.push('cfo');
  return steps.map((stepId) => ({
    stepId,
    title: stepMeta[stepId].title,
    approvers: policy.steps[stepId].approvers,
    timing: stepTiming(policy.approval, policy.steps[stepId]),
  }));
}

export const capexProcess: ProcessDefinition<CapexInput, CapexPolicy> = {
  key: 'capex',
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
  summarize: (input) => ({
    title: input.title,
    requester: input.requester,
    amount: input.amount,
    currency: input.currency,
    costCenter: input.costCenter,
  }),
  describe: (input) => [
    { label: 'Amount', value: formatMoney(input.amount, input.currency) },
    { label: 'Vendor', value: input.vendor },
    { label: 'Cost center', value: input.costCenter },
    { label: 'Category', value: input.category },
    { label: 'Justification', value: input.justification },
  ],
};
