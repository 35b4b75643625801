/** Formatting shared by process definitions and workflows: pure, no zod, safe in the workflow bundle. */

/**
 * "25,000.00 EUR". Written out rather than with toLocaleString: facts shown to approvers are hashed into the
 * version a decision is bound to, so the same amount must read the same in the API, the worker and any Node build.
 */
export function formatMoney(amount: number, currency: string): string {
  const [whole, cents] = Math.abs(amount).toFixed(2).split('.') as [string, string];
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${amount < 0 ? '-' : ''}${grouped}.${cents} ${currency}`;
}

export function normalizeIban(value: string): string {
  return value.replace(/\s+/g, '').toUpperCase();
}

/** "DE89 3704 0044 0532 0130 00". */
export function formatIban(value: string): string {
  return normalizeIban(value).replace(/(.{4})/g, '$1 ').trim();
}

/** "5,000": whole numbers grouped like formatMoney, for the same reason (facts are hashed). */
export function formatCount(count: number): string {
  return `${count < 0 ? '-' : ''}${Math.trunc(Math.abs(count)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

/** "2027-03-01 09:00 UTC". */
export function formatUtc(epochMs: number): string {
  return `${new Date(epochMs).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}
