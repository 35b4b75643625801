import type { SupplierRescreeningInput } from './supplier-rescreening.js';
import type { RunShape } from './types.js';

/** What the re-screening workflow needs of its process, without zod (see capex-flow.ts). */
export const supplierRescreeningRun: RunShape<SupplierRescreeningInput> = {
  key: 'supplier-rescreening',
  summarize: (input) => ({ title: 'Supplier re-screening', requester: input.requester }),
  describe: () => [{ label: 'Scope', value: 'Every active vendor in the ERP' }],
};
