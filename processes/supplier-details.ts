import { z } from 'zod';

/** IBAN length per country (ISO 13616 registry), for the EU/EEA and the European countries suppliers come from. */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AT: 20, BE: 16, BG: 22, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20, ES: 24, FI: 18, FR: 27, GB: 22,
  GI: 23, GR: 27, HR: 21, HU: 28, IE: 22, IS: 26, IT: 27, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MT: 31, NL: 18,
  NO: 15, PL: 28, PT: 25, RO: 24, SE: 24, SI: 19, SK: 24, SM: 27, VA: 22,
};
export const IBAN_COUNTRIES = new Set(Object.keys(IBAN_LENGTHS));

export const EU_COUNTRIES = new Set(['AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU', 'IE', 'IT', 'LT', 'LU', 'LV', 'MT', 'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK']);

/** VAT number formats per EU member state, without the prefix (Greece's prefix is EL, Northern Ireland's XI). */
const VAT_FORMATS: Record<string, RegExp> = {
  AT: /^U\d{8}$/, BE: /^[01]\d{9}$/, BG: /^\d{9,10}$/, CY: /^\d{8}[A-Z]$/, CZ: /^\d{8,10}$/, DE: /^\d{9}$/, DK: /^\d{8}$/,
  EE: /^\d{9}$/, EL: /^\d{9}$/, ES: /^[A-Z0-9]\d{7}[A-Z0-9]$/, FI: /^\d{8}$/, FR: /^[A-Z0-9]{2}\d{9}$/, HR: /^\d{11}$/,
  HU: /^\d{8}$/, IE: /^\d{7}[A-Z]{1,2}$|^\d[A-Z+*]\d{5}[A-Z]$/, IT: /^\d{11}$/, LT: /^(\d{9}|\d{12})$/, LU: /^\d{8}$/,
  LV: /^\d{11}$/, MT: /^\d{8}$/, NL: /^\d{9}B\d{2}$/, PL: /^\d{10}$/, PT: /^\d{9}$/, RO: /^\d{2,10}$/, SE: /^\d{12}$/,
  SI: /^\d{8}$/, SK: /^\d{10}$/, XI: /^(\d{9}|\d{12})$/,
};

const POSTAL_CODES: Record<string, RegExp> = {
  DE: /^\d{5}$/, FR: /^\d{5}$/, IT: /^\d{5}$/, ES: /^\d{5}$/, NL: /^\d{4} ?[A-Z]{2}$/, AT: /^\d{4}$/, BE: /^\d{4}$/,
  CH: /^\d{4}$/, DK: /^\d{4}$/, US: /^\d{5}(-\d{4})?$/, GB: /^[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}$/,
};

export function normalizeIban(value: string): string {
  return value.replace(/\s+/g, '').toUpperCase();
}

export function formatIban(value: string): string {
  return normalizeIban(value).replace(/(.{4})/g, '$1 ').trim();
}

/** ISO 13616: known country, its length, and check digits that make the number ≡ 1 (mod 97). */
export function isValidIban(value: string): boolean {
  const iban = normalizeIban(value);
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban) || IBAN_LENGTHS[iban.slice(0, 2)] !== iban.length) return false;
  const digits = (iban.slice(4) + iban.slice(0, 4)).replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  let remainder = 0;
  for (let i = 0; i < digits.length; i += 7) remainder = Number(`${remainder}${digits.slice(i, i + 7)}`) % 97;
  return remainder === 1;
}

export function isValidBic(value: string): boolean {
  const bic = value.replace(/\s+/g, '').toUpperCase();
  return /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/.test(bic) && (IBAN_COUNTRIES.has(bic.slice(4, 6)) || ['US', 'CA', 'JP', 'CN', 'IN', 'AU', 'SG', 'HK', 'TR', 'XI'].includes(bic.slice(4, 6)));
}

/** Format check of an EU VAT number (with its country prefix) for a supplier registered in `country`. */
export function isValidEuVatNumber(value: string, country: string): boolean {
  const vat = value.replace(/[\s.-]/g, '').toUpperCase();
  const prefix = country === 'GR' ? 'EL' : country;
  const format = VAT_FORMATS[prefix];
  return !!format && vat.startsWith(prefix) && format.test(vat.slice(2));
}

/** ABA routing number: nine digits whose 3-7-1 weighted sum is a multiple of 10. */
export function isValidUsRoutingNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const d = value.split('').map(Number);
  return (3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]! + d[8]!)) % 10 === 0;
}

const text = (max: number) => z.string({ error: 'required' }).trim().min(1, 'required').max(max);
const optionalText = (max: number) => z.string().trim().max(max).optional();

/** What a new supplier tells us about themselves, through the link we e-mail them. */
export const supplierDetailsSchema = z.object({
  taxId: text(50).describe('Company registration or tax identification number (for US suppliers the EIN, e.g. 12-3456789)'),
  vatNumber: optionalText(20).describe('EU VAT number with country prefix, e.g. DE123456789; required for suppliers in the EU'),
  registeredAddress: z.object({
    line1: text(200),
    line2: optionalText(200),
    city: text(100),
    postalCode: text(20),
    country: z.string({ error: 'required' }).trim().toUpperCase().regex(/^[A-Z]{2}$/, 'must be a two-letter country code such as DE'),
  }),
  bank: z.object({
    accountHolder: text(200).describe('As the bank knows it'),
    iban: optionalText(42).describe('Required for suppliers in Europe, e.g. DE89 3704 0044 0532 0130 00'),
    bic: optionalText(11).describe('The bank’s SWIFT/BIC code, e.g. COBADEFFXXX'),
    accountNumber: optionalText(17).describe('US and other non-IBAN countries only'),
    routingNumber: optionalText(9).describe('US only: the nine-digit ABA routing number'),
  }),
  certificates: z
    .array(z.object({ kind: z.enum(['iso27001', 'soc2', 'iso9001', 'insurance', 'other']), reference: text(100), validUntil: z.iso.date({ error: 'must be a date as YYYY-MM-DD' }) }), { error: 'fill in kind, reference and valid until' })
    .max(10)
    .default([]),
});
export type SupplierDetailsInput = z.input<typeof supplierDetailsSchema>;

/** The rules that depend on who the supplier is: where they are registered and whether they handle our data. */
export function supplierDetailsFor(context: { country: string; handlesPersonalData: boolean; today?: string }) {
  const today = context.today ?? new Date().toISOString().slice(0, 10);
  const { country } = context;
  const european = IBAN_COUNTRIES.has(country);
  return supplierDetailsSchema
    .superRefine((parsed, ctx) => {
      // Runs even when a required field is missing, so the supplier sees every problem at once; hence the guards.
      const d = { ...parsed, bank: parsed.bank ?? {}, registeredAddress: parsed.registeredAddress ?? {}, certificates: Array.isArray(parsed.certificates) ? parsed.certificates : [] } as typeof parsed;
      const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
      if (european) {
        if (!d.bank.iban) issue(['bank', 'iban'], 'required for a supplier registered in Europe');
        else if (!isValidIban(d.bank.iban)) issue(['bank', 'iban'], 'is not a valid IBAN: check the country code, the length and for a typo (the check digits do not match)');
        if (!d.bank.bic) issue(['bank', 'bic'], 'required with an IBAN');
        else if (!isValidBic(d.bank.bic)) issue(['bank', 'bic'], 'is not a valid BIC: 8 or 11 letters and digits, e.g. COBADEFFXXX');
      }
      if (EU_COUNTRIES.has(country)) {
        if (!d.vatNumber) issue(['vatNumber'], 'required for a supplier registered in the EU');
        else if (!isValidEuVatNumber(d.vatNumber, country)) issue(['vatNumber'], `does not look like a ${country === 'GR' ? 'EL' : country} VAT number; it starts with ${country === 'GR' ? 'EL' : country}`);
      }
      if (country === 'GB' && d.vatNumber && !/^GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})$/.test(d.vatNumber.replace(/\s+/g, '').toUpperCase())) {
        issue(['vatNumber'], 'a UK VAT number is GB followed by 9 digits');
      }
      if (country === 'CH' && !/^CHE-?\d{3}\.?\d{3}\.?\d{3}$/.test(d.taxId ?? '')) issue(['taxId'], 'a Swiss UID looks like CHE-123.456.789');
      if (country === 'US') {
        if (!/^\d{2}-?\d{7}$/.test(d.taxId ?? '')) issue(['taxId'], 'a US EIN looks like 12-3456789');
        if (!d.bank.accountNumber || !/^\d{4,17}$/.test(d.bank.accountNumber)) issue(['bank', 'accountNumber'], 'required: 4 to 17 digits');
        if (!d.bank.routingNumber || !isValidUsRoutingNumber(d.bank.routingNumber)) issue(['bank', 'routingNumber'], 'is not a valid ABA routing number');
        if (d.bank.iban) issue(['bank', 'iban'], 'US banks have no IBAN; give the account and routing numbers');
      }
      if (!european && country !== 'US' && !d.bank.iban && !d.bank.accountNumber) issue(['bank', 'iban'], 'give an IBAN or an account number');
      const postal = POSTAL_CODES[d.registeredAddress.country ?? ''];
      if (postal && d.registeredAddress.postalCode && !postal.test(d.registeredAddress.postalCode.toUpperCase())) issue(['registeredAddress', 'postalCode'], `is not a ${d.registeredAddress.country} postal code`);
      if (context.handlesPersonalData && !d.certificates.some((c) => c?.kind === 'iso27001' || c.kind === 'soc2')) {
        issue(['certificates'], 'A supplier handling personal or confidential data must provide an ISO 27001 or SOC 2 certificate');
      }
      d.certificates.forEach((c, i) => {
        if (c?.validUntil && c.validUntil < today) issue(['certificates', i, 'validUntil'], 'has expired');
      });
    }, { when: () => true })
    .transform((d) => ({
      ...d,
      vatNumber: d.vatNumber?.replace(/[\s.-]/g, '').toUpperCase(),
      bank: { ...d.bank, iban: d.bank.iban ? normalizeIban(d.bank.iban) : undefined, bic: d.bank.bic?.replace(/\s+/g, '').toUpperCase() },
    }));
}
export type SupplierDetails = z.output<ReturnType<typeof supplierDetailsFor>>;
