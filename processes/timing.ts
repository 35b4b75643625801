import type { ApprovalTiming } from './policy.js';

/**
 * The timing of one step: the process's defaults with the step's own values over them. Pure (no zod), so the
 * workflow computes it from the policy it carries.
 */
export function stepTiming(defaults: ApprovalTiming, step: Partial<ApprovalTiming> & { approvers?: string[] } = {}): ApprovalTiming {
  const { approvers: _approvers, ...own } = step;
  return { ...defaults, ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)) } as ApprovalTiming;
}
