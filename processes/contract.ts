import { z } from 'zod';
import type { ApprovalRule } from './approval-messages.js';
import { approvalTimingSchema, approvalTimingWith, currencySchema, durationSchema, formatMoney, moneyAmountSchema, personSchema, type ApprovalTiming } from './shared.js';
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

export const contractSettingsSchema = z.object({
  review: z
    .object({
      approvers: z.array(z.string().min(1)).min(1).default(['role:legal', 'role:finance-director']),
      /** Added to the review when the contract handles personal data. */
      personalDataApprovers: z.array(z.string().min(1)).default(['role:security']),
      rule: ruleSchema.default({ kind: 'all' }),
    })
    .default({ approvers: ['role:legal', 'role:finance-director'], personalDataApprovers: ['role:security'], rule: { kind: 'all' } }),
  signoff: z
    .object({
      /** `each-role:director` gives every director a seat. */
      approvers: z.array(z.string().min(1)).min(1).default(['each-role:director']),
      rule: ruleSchema.default({ kind: 'quorum', required: 2 }),
      /** Contracts worth at least this much a year also need the directors. */
      from: z.number().nonnegative().default(50_000),
    })
    .default({ approvers: ['each-role:director'], rule: { kind: 'quorum', required: 2 }, from: 50_000 }),
  approval: approvalTimingSchema.partial().default({}),
  revisionTimeout: durationSchema.default('7d'),
});
export type ContractSettings = z.infer<typeof contractSettingsSchema>;


export interface ContractStep {
  stepId: 'review' | 'signoff';
  title: string;
  approvers: string[];
  rule: ApprovalRule;
  timing: ApprovalTiming;
}

/** Parallel review (everyone must agree by default), then a directors' quorum for larger contracts. */
export function contractApprovalChain(input: ContractInput, settings: ContractSettings): ContractStep[] {
  const timing = approvalTimingWith(settings.approval);
  const reviewers = [...settings.review.approvers, ...(input.handlesPersonalData ? settings.review.personalDataApprovers : [])];
  const steps: ContractStep[] = [
    { stepId: 'review', title: 'Legal, finance and security review', approvers: reviewers, rule: settings.review.rule, timing },
  ];
  if (input.annualValue >= settings.signoff.from) {
    steps.push({ stepId: 'signoff', title: 'Directors sign-off', approvers: settings.signoff.approvers, rule: settings.signoff.rule, timing });
  }
  return steps;
}

export const contractProcess: ProcessDefinition<ContractInput, ContractSettings> = {
  key: 'contract',
  title: 'Contract sign-off',
  description:
    'A contract with a supplier or customer: legal and finance review it in parallel (security too when it handles ' +
    'personal data), then two of the three directors sign off when it is worth 50,000 a year or more (configurable).',
  workflowType: 'contractWorkflow',
  inputSchema: contractInputSchema,
  settingsSchema: contractSettingsSchema,
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
