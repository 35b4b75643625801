import { z } from 'zod';
import type { ProcessDefinition } from './types.js';
import {
  approvalTimingSchema,
  approvalTimingWith,
  defaultApprovalTiming,
  currencySchema,
  durationSchema,
  formatMoney,
  moneyAmountSchema,
  personSchema,
  type ApprovalTiming,
} from './shared.js';

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


export const capexSettingsSchema = z.object({
  thresholds: z
    .object({
      financeDirectorFrom: z.number().positive().default(10_000),
      cfoFrom: z.number().positive().default(100_000),
    })
    .default({ financeDirectorFrom: 10_000, cfoFrom: 100_000 })
    .refine((t) => t.cfoFrom > t.financeDirectorFrom, {
      message: 'cfoFrom must be greater than financeDirectorFrom',
      path: ['cfoFrom'],
    }),
  approval: approvalTimingSchema.partial().default({}),
  steps: z
    .object({
      'line-manager': approvalTimingSchema.partial(),
      'finance-director': approvalTimingSchema.partial(),
      cfo: approvalTimingSchema.partial(),
    })
    .partial()
    .default({}),
  /** PO creation retries up to this long. */
  purchaseOrderTimeout: durationSchema.default('1h'),
  /** How long the requester has to resubmit after an approver asked for changes. */
  revisionTimeout: durationSchema.default('7d'),
});

export type CapexSettings = z.infer<typeof capexSettingsSchema>;

export interface CapexApprovalStep {
  stepId: CapexStepId;
  title: string;
  approvers: string[];
  timing: ApprovalTiming;
}

const stepMeta: Record<CapexStepId, { title: string; approver: string }> = {
  'line-manager': { title: 'Line manager approval', approver: 'manager-of-requester' },
  'finance-director': { title: 'Finance director approval', approver: 'role:finance-director' },
  cfo: { title: 'CFO approval', approver: 'role:cfo' },
};

/** The approval chain grows with the amount: line manager, then finance director, then CFO. */
export function capexApprovalChain(input: Pick<CapexInput, 'amount'>, settings: CapexSettings): CapexApprovalStep[] {
  const steps: CapexStepId[] = ['line-manager'];
  if (input.amount >= settings.thresholds.financeDirectorFrom) steps.push('finance-director');
  if (input.amount >= settings.thresholds.cfoFrom) steps.push('cfo');
  return steps.map((stepId) => ({
    stepId,
    title: stepMeta[stepId].title,
    approvers: [stepMeta[stepId].approver],
    timing: approvalTimingWith(settings.approval, settings.steps[stepId]),
  }));
}

export const capexProcess: ProcessDefinition<CapexInput, CapexSettings> = {
  key: 'capex',
  title: 'Capex sign-off',
  description:
    'Capital expenditure request: approved by the line manager, plus the finance director from 10,000 and the CFO ' +
    'from 100,000 (configurable). Full approval raises a purchase order in the ERP and tells the requester.',
  workflowType: 'capexWorkflow',
  inputSchema: capexInputSchema,
  settingsSchema: capexSettingsSchema,
  whoMayStart: ['runs:start:capex'],
  editableFields: ['title', 'amount', 'currency', 'vendor', 'costCenter', 'category', 'justification'],
  slas: capexStepIds.map((step) => ({
    step,
    target: `remind after ${defaultApprovalTiming.reminderAfter}, SLA ${defaultApprovalTiming.timeout}`,
    onBreach: `escalate to the approver's manager, who has ${defaultApprovalTiming.escalationTimeout}; then the run expires`,
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
