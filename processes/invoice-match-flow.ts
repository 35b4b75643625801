import { formatMoney } from './format.js';
import type { InvoiceMatchInput } from './invoice-match.js';
import type { RunShape } from './types.js';

/** What the invoice match workflow needs of its process, without zod (see capex-flow.ts). */
export const invoiceMatchRun: RunShape<InvoiceMatchInput> = {
  key: 'invoice-match',
  summarize: (input) => ({
    title: `Invoice ${input.invoiceNumber} for ${input.poNumber}`,
    requester: input.requester,
    amount: input.amount,
    currency: input.currency,
  }),
  describe: (input) => [
    { label: 'Supplier', value: input.supplier },
    { label: 'Invoice', value: input.invoiceNumber },
    { label: 'Purchase order', value: input.poNumber },
    { label: 'Amount', value: formatMoney(input.amount, input.currency) },
  ],
};
