import type { CapexInput, CapexPolicy } from './capex.js';
import { formatMoney } from './format.js';
import type { ApprovalTiming } from './policy.js';
import { stepTiming } from './timing.js';
import type { RunShape } from './types.js';

/**
 * What the capex workflow needs of its process, without zod: the chain of steps, the facts approvers see and the
 * run's summary. The definition in capex.ts (schemas, policy) builds on it; the workflow bundle holds only this.
 */

export const capexStepIds = ['line-manager', 'finance-director', 'cfo'] as const;
export type CapexStepId = (typeof capexStepIds)[number];

export const capexStepTitles: Record<CapexStepId, string> = {
  'line-manager': 'Line manager approval',
  'finance-director': 'Finance director approval',
  cfo: 'CFO approval',
};

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
    title: capexStepTitles[stepId],
    approvers: policy.steps[stepId].approvers,
    timing: stepTiming(policy.approval, policy.steps[stepId]),
  }));
}

export const capexRun: RunShape<CapexInput> = {
  key: 'capex',
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

/** The purchase order's audit entry (written by the order's activity, or with the run's close: RUN_CLOSED_WITH_NOTICE). */
export function purchaseOrderCreatedEntry(runId: string, po: { poNumber: string; amount: number; currency: string }) {
  return {
    eventKey: `${runId}:purchase-order:created`,
    runId,
    action: 'erp.purchase_order.created',
    actor: 'opsflow',
    step: 'purchase-order',
    details: { poNumber: po.poNumber, amount: po.amount, currency: po.currency },
  };
}
