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

export { formatMoney } from './format.js';
