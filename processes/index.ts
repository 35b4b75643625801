import { capexProcess } from './capex.js';
import { contractProcess } from './contract.js';
import { hiringProcess } from './hiring.js';
import { incidentProcess } from './incident.js';
import { invoiceMatchProcess } from './invoice-match.js';
import { launchReadinessProcess } from './launch-readiness.js';
import { supplierOnboardingProcess } from './supplier-onboarding.js';
import { supplierRescreeningProcess } from './supplier-rescreening.js';
import type { z } from 'zod';
import { factsVersion, type Fact } from './facts.js';
import type { PolicyLimits } from './policy.js';
import type { ProcessDefinition } from './types.js';

/** Every process Opsflow runs. Add one here and the API, catalog and OpenAPI pick it up. */
export const processes: ReadonlyArray<ProcessDefinition<any, any>> = [
  capexProcess,
  contractProcess,
  hiringProcess,
  invoiceMatchProcess,
  supplierOnboardingProcess,
  supplierRescreeningProcess,
  launchReadinessProcess,
  incidentProcess,
];

export function findProcess(key: string): ProcessDefinition | undefined {
  return processes.find((p) => p.key === key);
}

/** The process a workflow type runs (for log lines, which know the workflow type only); undefined for others. */
export function processKeyOfWorkflowType(workflowType: string | undefined): string | undefined {
  return processes.find((p) => p.workflowType === workflowType)?.key;
}

export type { ProcessDefinition, RunArgs, RunSummary } from './types.js';

/** Input fields someone other than the requester fills in: an outside form's answers, what the run's tasks came to. */
export function fieldsFilledByOthers(process: ProcessDefinition): string[] {
  return [...Object.keys(process.forms ?? {}), ...(process.filledByRun ?? [])];
}

const policySchemas = new Map<string, z.ZodType>();

/** A process's policy schema under these bounds, built once (building one walks the input's JSON Schema). */
export function policySchemaOf(process: ProcessDefinition, limits: PolicyLimits): z.ZodType {
  const key = `${process.key}|${limits.minimumSla}|${limits.minimumRetryBudget}|${limits.minimumPageInterval}`;
  let schema = policySchemas.get(key);
  if (!schema) policySchemas.set(key, (schema = process.policySchema(limits)));
  return schema;
}

/** The facts approvers of a run see and the version that binds their decisions (see processes/facts.ts). */
export function factsOf(process: ProcessDefinition, input: unknown): { facts: Fact[]; version: string } {
  const facts = process.describe(input);
  return { facts, version: factsVersion(facts, input) };
}
