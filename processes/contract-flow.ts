import type { ApprovalRule } from './approval-messages.js';
import type { ContractInput, ContractPolicy } from './contract.js';
import { formatMoney } from './format.js';
import type { ApprovalTiming } from './policy.js';
import type { RunShape } from './types.js';

/** What the contract workflow needs of its process, without zod (see capex-flow.ts). */

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

export const contractRun: RunShape<ContractInput> = {
  key: 'contract',
  summarize: (input) => ({ title: input.title, requester: input.requester, amount: input.annualValue, currency: input.currency }),
  describe: (input) => [
    { label: 'Counterparty', value: input.counterparty },
    { label: 'Type', value: input.contractType.toUpperCase() },
    { label: 'Annual value', value: formatMoney(input.annualValue, input.currency) },
    { label: 'Personal data', value: input.handlesPersonalData ? 'Yes: security reviews it' : 'No' },
    { label: 'Summary', value: input.summary },
  ],
};
