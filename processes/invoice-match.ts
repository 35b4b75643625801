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
import { invoiceMatchRun } from './invoice-match-flow.js';
import { describeApprovers, describeDeadline } from './diagram.js';
import { currencySchema, moneyAmountSchema, personSchema } from './shared.js';
import type { ProcessDefinition } from './types.js';

export const invoiceMatchInputSchema = z.object({
  invoiceNumber: z.string().trim().min(1, 'required').max(100),
  poNumber: z.string().trim().min(1, 'required').max(100),
  supplier: z.string().trim().min(1, 'required').max(200),
  amount: moneyAmountSchema,
  currency: currencySchema,
  /** The buyer who raised the purchase order; told how the match ended. */
  requester: personSchema,
});
export type InvoiceMatchInput = z.infer<typeof invoiceMatchInputSchema>;

/** Invoice match policy: how long to wait for receipts, the tolerance, who may release a short invoice. */
export function invoiceMatchPolicySchema(limits: PolicyLimits) {
  return z
    .strictObject({
      /** How long to wait for goods receipts that cover the invoice. */
      receiptTimeout: slaDuration(limits).default('14d'),
      /** Receipts within this share of the invoice amount count as a match. */
      tolerancePercent: z.number().min(0).max(20).default(2),
      /** Who may release payment when the receipts fall short at the deadline. */
      releaseApprovers: z.array(approverRefSchema).min(1).default(['role:finance-director']),
      approval: approvalTimingSchema(limits).prefault({}),
      separationOfDuties: separationOfDutiesSchema(),
      materialChanges: materialChangesSchema(fieldPathsOf(invoiceMatchInputSchema), [{ field: 'amount', when: 'increased' }]),
    })
    .superRefine(requireLimitForDeadlineApproval);
}
export type InvoiceMatchPolicy = z.infer<ReturnType<typeof invoiceMatchPolicySchema>>;

/** Every supplier invoice for a PO, matched against the goods receipts the ERP posts for that PO. */
export const invoiceMatchProcess: ProcessDefinition<InvoiceMatchInput, InvoiceMatchPolicy> = {
  title: 'Supplier invoice match',
  description:
    'Started by the ERP when a supplier invoice arrives (event invoice.received). Waits for goods receipts for the ' +
    'same purchase order (goods.received) until they cover the invoice, then releases it for payment. If they fall ' +
    'short by the deadline, a finance director decides whether to release it anyway. invoice.cancelled ends the run.',
  workflowType: 'invoiceMatchWorkflow',
  inputSchema: invoiceMatchInputSchema,
  policySchema: invoiceMatchPolicySchema,
  whoMayStart: ['runs:start:invoice-match', 'event erp/invoice.received'],
  editableFields: [],
  slas: [
    { step: 'awaiting-goods-receipt', target: 'receipts within 14d', onBreach: 'a finance director decides on releasing payment' },
    { step: 'payment-release', target: 'remind after 1d, SLA 3d', onBreach: "the approver's manager gets the request; then the run expires" },
  ],
  events: {
    starts: [
      {
        source: 'erp',
        type: 'invoice.received',
        correlationKey: (data) => data.poNumber,
        toInput: (data) => ({
          invoiceNumber: data.invoiceNumber,
          poNumber: data.poNumber,
          supplier: data.supplier,
          amount: data.amount,
          currency: data.currency,
          requester: data.buyer,
        }),
      },
    ],
    consumes: [
      { source: 'erp', type: 'goods.received', correlationKey: (data) => data.poNumber },
      { source: 'erp', type: 'invoice.cancelled', correlationKey: (data) => data.poNumber },
    ],
  },
  diagram: (policy) => [
    { id: 'awaiting-goods-receipt', kind: 'wait', title: 'Waits for goods receipts (erp/goods.received) covering the invoice', deadline: `until ${policy.receiptTimeout}; within ${policy.tolerancePercent}% counts as a match`, otherwise: 'erp/invoice.cancelled ends the run' },
    { id: 'payment-release', kind: 'approval', title: 'Release payment on short receipts', when: 'the receipts fall short at the deadline', who: describeApprovers(policy.releaseApprovers), deadline: describeDeadline(policy.approval), otherwise: 'rejected: payment blocked' },
    { id: 'end', kind: 'end', title: 'Buyer told: matched, released or blocked' },
  ],
  ...invoiceMatchRun,
};
