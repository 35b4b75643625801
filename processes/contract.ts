import { z } from 'zod';
import type { ApprovalRule } from './approval-messages.js';
import {
  approvalTimingSchema,
  approverRefSchema,
  fieldPathsOf,
  materialChangesSchema,
  requireLimitForDeadlineApproval,
  separationOfDutiesSchema,
  slaDuration,
  type ApprovalTiming,
  type PolicyLimits,
} from './policy.js';
import { currencySchema, formatMoney, moneyAmountSchema, personSchema } from './shared.js';
import type { ProcessDefinition } from './types.js';

export const contractInputSchema = z.object({
  title: z.string().trim().min(3, 'must be at least 3 characters').max(200),
  counterparty: z.string().trim().min(1, 'required').max(200),
  contractType: z.enum(['nda', 'msa', 'sow', 'dpa', 'license', 'other']),
  annualValue: moneyAmountSchema,
  currency: currencySchema,
  handlesPersonalData: z.boolean(),
  summary: z.string().trim().min(10, 'must be at least 10 characters').max(5000),
  requester: personSchema,
});
export type ContractInput = z.infer<typeof contractInputSchema>;

const ruleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('all') }),
  z.object({ kind: z.literal('any') }),
  z.object({ kind: z.literal('quorum'), required: z.number().int().min(1) }),
]);

/** Contract policy: who reviews and how they agree, the directors' sign-off and from what value, timing, controls. */
export function contractPolicySchema(limits: PolicyLimits) {
  return z
    .strictObject({
      review: z
        .strictObject({
          approvers: z.array(approverRefSchema).min(1).default(['role:legal', 'role:finance-director']),
          /** Added to the review when the contract handles personal data. */
          personalDataApprovers: z.array(approverRefSchema).default(['role:security']),
          rule: ruleSchema.default({ kind: 'all' }),
        })
        .prefault({}),
      signoff: z
        .strictObject({
          /** `each-role:director` gives every director a seat. */
          approvers: z.array(approverRefSchema).min(1).default(['each-role:director']),
          rule: ruleSchema.default({ kind: 'quorum', required: 2 }),
          /** Contracts worth at least this much a year also need the directors. */
          from: z.number().nonnegative().default(50_000),
        })
        .prefault({}),
      approval: approvalTimingSchema(limits).prefault({}),
      separationOfDuties: separationOfDutiesSchema(),
      materialChanges: materialChangesSchema(fieldPathsOf(contractInputSchema), [
        { field: 'annualValue', when: 'increased' },
        { field: 'currency', when: 'changed' },
        { field: 'counterparty', when: 'changed' },
        { field: 'contractType', when: 'changed' },
        { field: 'handlesPersonalData', when: 'changed' },
      ]),
      revisionTimeout: slaDuration(limits).default('7d'),
    })
    .superRefine(requireLimitForDeadlineApproval);
}
export type ContractPolicy = z.infer<ReturnType<typeof contractPolicySchema>>;

export interface ContractStep {
  stepId: 'review' | 'signoff';
  title: string;
  approvers: string[];
  rule: ApprovalRule;
  timing: ApprovalTiming;
}

/** Parallel review (everyone must agree by default), then a directors' quorum for larger contracts. */
export function contractApprovalChain(input: ContractInput, settings: ContractPolicy): ContractStep[] {
  const timing = settings.approval;
  const reviewers = [...settings.review.approvers, ...(input.handlesPersonalData ? settings.review.personalDataApprovers : [])];
  const steps: ContractStep[] = [
    { stepId: 'review', title: 'Legal, finance and security review', approvers: reviewers, rule: settings.review.rule, timing },
  ];
  if (input.annualValue >= settings.signoff.from) {
    steps.push({ stepId: 'signoff', title: 'Directors sign-off', approvers: settings.signoff.approvers, rule: settings.signoff.rule, timing });
  }
  return steps;
}

export const contractProcess: ProcessDefinition<ContractInput, ContractPolicy> = {
  key: 'contract',
  title: 'Contract sign-off',
  description:
    'A contract with a supplier or customer: legal and finance review it in parallel (security too when it handles ' +
    'personal data), then two of the three directors sign off when it is worth 50,000 a year or more (policy).',
  workflowType: 'contractWorkflow',
  inputSchema: contractInputSchema,
  policySchema: contractPolicySchema,
  whoMayStart: ['runs:start:contract'],
  editableFields: ['title', 'counterparty', 'contractType', 'annualValue', 'currency', 'summary'],
  slas: [
    { step: 'review', target: 'remind after 1d, SLA 3d', onBreach: "each silent reviewer's manager gets the request; then the run expires" },
    { step: 'signoff', target: 'remind after 1d, SLA 3d', onBreach: "each silent director's manager gets the request; then the run expires" },
  ],
  summarize: (input) => ({ title: input.title, requester: input.requester, amount: input.annualValue, currency: input.currency }),
  describe: (input) => [
    { label: 'Counterparty', value: input.counterparty },
    { label: 'Type', value: input.contractType.toUpperCase() },
    { label: 'Annual value', value: formatMoney(input.annualValue, input.currency) },
    { label: 'Personal data', value: input.handlesPersonalData ? 'Yes: security reviews it' : 'No' },
    { label: 'Summary', value: input.summary },
  ],
};
