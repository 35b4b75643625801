import { z } from 'zod';
import {
  approvalTimingSchema,
  approverRefSchema,
  fieldPathsOf,
  materialChangesSchema,
  requireLimitForDeadlineApproval,
  separationOfDutiesSchema,
  slaDuration,
  type PolicyLimits,
} from './policy.js';
import { currencySchema, moneyAmountSchema, personSchema } from './shared.js';
import { contractRun } from './contract-flow.js';
import { amountAtLeast, describeApprovers, describeDeadline } from './diagram.js';

export { contractApprovalChain, type ContractStep } from './contract-flow.js';
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

export const contractProcess: ProcessDefinition<ContractInput, ContractPolicy> = {
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
  diagram: (policy) => [
    {
      id: 'review',
      kind: 'approval',
      title: 'Legal, finance and security review',
      who: `${describeApprovers(policy.review.approvers, policy.review.rule)}; plus ${describeApprovers(policy.review.personalDataApprovers)} when personal data is handled`,
      deadline: describeDeadline(policy.approval),
      otherwise: 'rejected: the run ends; changes requested: back to the requester',
    },
    { id: 'signoff', kind: 'approval', title: 'Directors sign-off', when: amountAtLeast('annual value', policy.signoff.from), who: describeApprovers(policy.signoff.approvers, policy.signoff.rule), deadline: describeDeadline(policy.approval) },
    { id: 'end', kind: 'end', title: 'Requester told: approved' },
  ],
  ...contractRun,
};
