import { capexProcess } from './capex.js';
import { contractProcess } from './contract.js';
import { hiringProcess } from './hiring.js';
import { invoiceMatchProcess } from './invoice-match.js';
import { supplierOnboardingProcess } from './supplier-onboarding.js';
import { supplierRescreeningProcess } from './supplier-rescreening.js';
import type { ProcessDefinition } from './types.js';

/** Every process Opsflow runs. Add one here and the API, catalog and OpenAPI pick it up. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const processes: ReadonlyArray<ProcessDefinition<any, any>> = [capexProcess, contractProcess, hiringProcess, invoiceMatchProcess, supplierOnboardingProcess, supplierRescreeningProcess];

export function findProcess(key: string): ProcessDefinition | undefined {
  return processes.find((p) => p.key === key);
}

export type { ProcessDefinition, RunArgs, RunSummary } from './types.js';
