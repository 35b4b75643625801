import { z } from 'zod';
import type { Duration } from './types.js';

export const durationSchema = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration such as "30s", "15m", "4h" or "3d"')
  .transform((value) => value as Duration);

export const personSchema = z.object({
  name: z.string().trim().min(1, 'required').max(200),
  email: z.email('must be an e-mail address').max(320),
});

/** A positive amount with at most two decimals (cents), as JSON number. */
export const moneyAmountSchema = z
  .number({ error: 'must be a number' })
  .positive('must be greater than 0')
  .max(1e13, 'is too large')
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-6, 'must have at most 2 decimals');

const knownCurrencies = new Set(
  typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('currency') : [],
);

export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR or USD')
  .refine((code) => knownCurrencies.size === 0 || knownCurrencies.has(code), 'is not a known ISO 4217 currency');

/** How one approval step waits: remind, then escalate or expire at its SLA. */
export const approvalTimingSchema = z.object({
  reminderAfter: durationSchema.describe('Send a reminder when the approver has not acted after this long; repeats'),
  timeout: durationSchema.describe("The step's SLA: after this long the step escalates or expires"),
  onTimeout: z.enum(['escalate', 'expire']),
  escalateTo: z
    .string()
    .describe('Who gets the request on escalation: "manager-of-approver" or "role:<role>"'),
  escalationTimeout: durationSchema.describe('How long the escalation approver has before the step expires'),
});

export type ApprovalTiming = z.infer<typeof approvalTimingSchema>;

/** Remind after a day, escalate to the approver's manager after three, expire two days later. */
export const defaultApprovalTiming: ApprovalTiming = {
  reminderAfter: '1d',
  timeout: '3d',
  onTimeout: 'escalate',
  escalateTo: 'manager-of-approver',
  escalationTimeout: '2d',
};

/** A step's timing: the defaults, overridden by the process's settings (later overrides win). */
export function approvalTimingWith(...overrides: Array<Partial<ApprovalTiming> | undefined>): ApprovalTiming {
  return Object.assign({}, defaultApprovalTiming, ...overrides);
}

export function formatMoney(amount: number, currency: string): string {
  return `${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
}
