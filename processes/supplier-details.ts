import { z } from 'zod';
import { normalizeIban } from './format.js';

/** ISO 3166-1 alpha-2 codes. */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP ' +
    'KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT ' +
    'MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW ' +
    'SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ ' +
    'UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

export const EU_COUNTRIES: ReadonlySet<string> = new Set([
  'AT', 'BE', 'BG', 'CY', 'CZ', 'DE', 'DK', 'EE', 'ES', 'FI', 'FR', 'GR', 'HR', 'HU', 'IE', 'IT', 'LT', 'LU', 'LV', 'MT',
  'NL', 'PL', 'PT', 'RO', 'SE', 'SI', 'SK',
]);
/** EEA = EU + Iceland, Liechtenstein, Norway. */
export const EEA_COUNTRIES: ReadonlySet<string> = new Set([...EU_COUNTRIES, 'IS', 'LI', 'NO']);
/** Suppliers registered here are paid by IBAN, so IBAN and BIC are required. */
export const IBAN_REQUIRED_COUNTRIES: ReadonlySet<string> = new Set([...EEA_COUNTRIES, 'GB', 'CH']);

/** IBAN length per country (ISO 13616 registry). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AT: 20, BE: 16, BG: 22, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20, ES: 24, FI: 18, FR: 27, GB: 22,
  GI: 23, GR: 27, HR: 21, HU: 28, IE: 22, IS: 26, IT: 27, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MT: 31, NL: 18,
  NO: 15, PL: 28, PT: 25, RO: 24, SE: 24, SI: 19, SK: 24, SM: 27, VA: 22,
};
export const IBAN_COUNTRIES: ReadonlySet<string> = new Set(Object.keys(IBAN_LENGTHS));

/** VAT number formats after the prefix; the prefix is the country code except Greece (EL) and Northern Ireland (XI). */
const VAT_FORMATS: Readonly<Record<string, { pattern: RegExp; example: string }>> = {
  AT: { pattern: /^U\d{8}$/, example: 'ATU12345678' },
  BE: { pattern: /^[01]\d{9}$/, example: 'BE0123456789' },
  BG: { pattern: /^\d{9,10}$/, example: 'BG123456789' },
  CY: { pattern: /^\d{8}[A-Z]$/, example: 'CY12345678L' },
  CZ: { pattern: /^\d{8,10}$/, example: 'CZ12345678' },
  DE: { pattern: /^\d{9}$/, example: 'DE123456789' },
  DK: { pattern: /^\d{8}$/, example: 'DK12345678' },
  EE: { pattern: /^\d{9}$/, example: 'EE123456789' },
  EL: { pattern: /^\d{9}$/, example: 'EL123456789' },
  ES: { pattern: /^[A-Z0-9]\d{7}[A-Z0-9]$/, example: 'ESX1234567X' },
  FI: { pattern: /^\d{8}$/, example: 'FI12345678' },
  FR: { pattern: /^[A-Z0-9]{2}\d{9}$/, example: 'FR12345678901' },
  HR: { pattern: /^\d{11}$/, example: 'HR12345678901' },
  HU: { pattern: /^\d{8}$/, example: 'HU12345678' },
  IE: { pattern: /^(\d{7}[A-Z]{1,2}|\d[A-Z+*]\d{5}[A-Z])$/, example: 'IE1234567WA' },
  IT: { pattern: /^\d{11}$/, example: 'IT12345678901' },
  LT: { pattern: /^(\d{9}|\d{12})$/, example: 'LT123456789' },
  LU: { pattern: /^\d{8}$/, example: 'LU12345678' },
  LV: { pattern: /^\d{11}$/, example: 'LV12345678901' },
  MT: { pattern: /^\d{8}$/, example: 'MT12345678' },
  NL: { pattern: /^\d{9}B\d{2}$/, example: 'NL123456789B01' },
  PL: { pattern: /^\d{10}$/, example: 'PL1234567890' },
  PT: { pattern: /^\d{9}$/, example: 'PT123456789' },
  RO: { pattern: /^\d{2,10}$/, example: 'RO1234567890' },
  SE: { pattern: /^\d{10}01$/, example: 'SE123456789001' },
  SI: { pattern: /^\d{8}$/, example: 'SI12345678' },
  SK: { pattern: /^\d{10}$/, example: 'SK1234567890' },
  XI: { pattern: /^(\d{9}|\d{12}|GD\d{3}|HA\d{3})$/, example: 'XI123456789' },
};

const POSTAL_CODES: Readonly<Record<string, { pattern: RegExp; example: string }>> = {
  DE: { pattern: /^\d{5}$/, example: '10115' },
  FR: { pattern: /^\d{5}$/, example: '75001' },
  IT: { pattern: /^\d{5}$/, example: '00184' },
  ES: { pattern: /^\d{5}$/, example: '28001' },
  NL: { pattern: /^\d{4} ?[A-Z]{2}$/, example: '1012 AB' },
  GB: { pattern: /^([A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|GIR ?0AA)$/, example: 'SW1A 1AA' },
  US: { pattern: /^\d{5}(-\d{4})?$/, example: '12345 or 12345-6789' },
  CH: { pattern: /^\d{4}$/, example: '8001' },
  AT: { pattern: /^\d{4}$/, example: '1010' },
  BE: { pattern: /^\d{4}$/, example: '1000' },
  DK: { pattern: /^\d{4}$/, example: '1050' },
};

const IBAN_EXAMPLE = 'DE89 3704 0044 0532 0130 00';

export { formatIban, normalizeIban } from './format.js';

/** ISO 7064 mod 97-10 over the rearranged IBAN, 7 digits at a time so it stays within a safe integer. */
function ibanChecksumMatches(iban: string): boolean {
  const digits = (iban.slice(4) + iban.slice(0, 4)).replace(/[A-Z]/g, (letter) => String(letter.charCodeAt(0) - 55));
  let remainder = 0;
  for (let i = 0; i < digits.length; i += 7) remainder = Number(`${remainder}${digits.slice(i, i + 7)}`) % 97;
  return remainder === 1;
}

/** Why an IBAN is not valid, in words for the supplier; undefined when it is. */
function ibanProblem(value: string): string | undefined {
  const iban = normalizeIban(value);
  if (!/^[A-Z]{2}/.test(iban)) return `An IBAN starts with the two-letter country code of the bank, e.g. ${IBAN_EXAMPLE}.`;
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return 'An IBAN has only letters and digits, and its 3rd and 4th characters are digits; please check for a typo.';
  const country = iban.slice(0, 2);
  const length = IBAN_LENGTHS[country];
  if (length === undefined) return `We cannot pay to an IBAN starting with ${country}; please check the first two letters.`;
  if (iban.length !== length) return `An IBAN from ${country} has ${length} characters, but this one has ${iban.length}; please check for a missing or extra character.`;
  if (!ibanChecksumMatches(iban)) return 'This is not a valid IBAN: the check digits do not match, so there is probably a typo.';
  return undefined;
}

/** ISO 13616: known country, its length, and check digits that make the number ≡ 1 (mod 97). */
export function isValidIban(value: string): boolean {
  return ibanProblem(value) === undefined;
}

const BIC_PATTERN = /^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$/;

export function isValidBic(value: string): boolean {
  const bic = value.replace(/\s+/g, '').toUpperCase();
  return BIC_PATTERN.test(bic) && COUNTRY_CODES.has(bic.slice(4, 6));
}

const vatPrefixOf = (country: string) => (country === 'GR' ? 'EL' : country);
const normalizeVat = (value: string) => value.replace(/[\s.-]/g, '').toUpperCase();

/** Format check of an EU VAT number (with its prefix) for a supplier registered in `country`. */
export function isValidEuVatNumber(value: string, country: string): boolean {
  const vat = normalizeVat(value);
  const prefix = vatPrefixOf(country.toUpperCase());
  const format = VAT_FORMATS[prefix];
  return !!format && vat.startsWith(prefix) && format.pattern.test(vat.slice(2));
}

/** ABA routing number: nine digits whose 3-7-1 weighted sum is a multiple of 10. */
export function isValidUsRoutingNumber(value: string): boolean {
  if (!/^\d{9}$/.test(value)) return false;
  const d = value.split('').map(Number);
  return (3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]! + d[8]!)) % 10 === 0;
}

function isRealDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

const REQUIRED = 'Please fill this in.';
// Each check carries its own message: a schema-level `error` would also replace the messages of its checks.
const text = (max: number) =>
  z
    .string({ error: REQUIRED })
    .trim()
    .min(1, REQUIRED)
    .max(max, `Please keep this to at most ${max} characters.`);
const optionalText = (max: number) => z.string({ error: 'Please enter text here.' }).trim().max(max, `Please keep this to at most ${max} characters.`).optional();

const certificateSchema = z.object({
  kind: z
    .enum(['iso27001', 'soc2', 'iso9001', 'insurance', 'other'], { error: 'Please choose what kind of certificate this is.' })
    .meta({ title: 'Kind', description: 'ISO 27001, SOC 2, ISO 9001, insurance or other' }),
  reference: text(100).meta({ title: 'Reference', description: 'Certificate or policy number' }),
  validUntil: z.iso
    .date({ error: 'Please give the date as YYYY-MM-DD, e.g. 2027-12-31.' })
    .meta({ title: 'Valid until', description: 'Expiry date as YYYY-MM-DD, e.g. 2027-12-31' }),
});

/** What a new supplier tells us about themselves, through the link we e-mail them. */
export const supplierDetailsSchema = z.object({
  taxId: text(50).meta({
    title: 'Tax ID',
    description: 'Company registration or tax identification number (Swiss suppliers: UID such as CHE-123.456.789; US suppliers: EIN such as 12-3456789)',
  }),
  vatNumber: optionalText(20).meta({
    title: 'VAT number',
    description: 'VAT number with its country prefix, e.g. DE123456789; required for suppliers in the EU',
  }),
  registeredAddress: z
    .object(
      {
        line1: text(200).meta({ title: 'Street and number' }),
        line2: optionalText(200).meta({ title: 'Address line 2' }),
        city: text(100).meta({ title: 'City' }),
        postalCode: text(20).meta({ title: 'Postal code' }),
        country: z
          .string({ error: REQUIRED })
          .trim()
          .toUpperCase()
          .regex(/^[A-Z]{2}$/, { error: 'Please give the two-letter country code, e.g. DE for Germany or GB for the United Kingdom.', abort: true })
          .refine((code) => COUNTRY_CODES.has(code), 'This is not a country code we know; please use the two-letter ISO code, e.g. DE for Germany.')
          .meta({ title: 'Country', description: 'Two-letter ISO country code, e.g. DE, FR, GB, US' }),
      },
      { error: 'Please fill in your registered address.' },
    )
    .meta({ title: 'Registered address', description: 'The address your company is registered at' }),
  bank: z
    .object(
      {
        accountHolder: text(200).meta({ title: 'Account holder', description: 'The name on the account, as your bank knows it' }),
        iban: optionalText(42).meta({ title: 'IBAN', description: `Required for suppliers in Europe, e.g. ${IBAN_EXAMPLE}` }),
        bic: optionalText(11).meta({ title: 'BIC', description: 'Your bank’s SWIFT/BIC code, e.g. COBADEFFXXX; required with an IBAN' }),
        accountNumber: optionalText(17).meta({ title: 'Account number', description: 'US and other countries without IBAN' }),
        routingNumber: optionalText(9).meta({ title: 'Routing number', description: 'US only: the nine-digit ABA routing number' }),
      },
      { error: 'Please fill in your bank details.' },
    )
    .meta({ title: 'Bank account', description: 'The account we pay your invoices to' }),
  certificates: z
    .array(certificateSchema, { error: 'Please fill in kind, reference and valid-until date for each certificate.' })
    .max(10, 'Please give at most 10 certificates.')
    .default([])
    .meta({ title: 'Certificates', description: 'Certifications and insurance, e.g. ISO 27001 or SOC 2' }),
  contactPhone: z
    .string({ error: 'Please enter a phone number.' })
    .trim()
    .regex(/^\+[1-9][0-9 ]{6,18}$/, 'Please give the number in international format: + and the country code, e.g. +49 30 1234567.')
    .optional()
    .meta({ title: 'Contact phone', description: 'International format, e.g. +49 30 1234567' }),
});
export type SupplierDetailsInput = z.input<typeof supplierDetailsSchema>;

type Parsed = z.output<typeof supplierDetailsSchema>;
const filled = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** The rules that depend on who the supplier is: where they are registered and whether they handle our data. */
export function supplierDetailsFor(context: { country: string; handlesPersonalData: boolean; today?: string }) {
  const country = context.country.trim().toUpperCase();
  return supplierDetailsSchema
    .superRefine(
      (parsed: Parsed, ctx) => {
        // Runs even when other fields failed (see `when`), so the supplier sees every problem at once; hence the
        // guards against missing or mistyped parts.
        if (typeof parsed !== 'object' || parsed === null) return;
        const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
        const bank: Partial<Parsed['bank']> = typeof parsed.bank === 'object' && parsed.bank !== null ? parsed.bank : {};
        const address: Partial<Parsed['registeredAddress']> = typeof parsed.registeredAddress === 'object' && parsed.registeredAddress !== null ? parsed.registeredAddress : {};
        const certificates: unknown[] = Array.isArray(parsed.certificates) ? parsed.certificates : [];
        const taxId = filled(parsed.taxId);
        const vatNumber = filled(parsed.vatNumber);
        const iban = filled(bank.iban);
        const bic = filled(bank.bic);
        const accountNumber = filled(bank.accountNumber);
        const routingNumber = filled(bank.routingNumber);

        if (IBAN_REQUIRED_COUNTRIES.has(country)) {
          if (!iban) issue(['bank', 'iban'], `Companies registered in Europe are paid by IBAN; please give yours, e.g. ${IBAN_EXAMPLE}.`);
          else {
            const problem = ibanProblem(iban);
            if (problem) issue(['bank', 'iban'], problem);
          }
          if (!bic) issue(['bank', 'bic'], 'Please give your bank’s BIC (SWIFT code), e.g. COBADEFFXXX.');
        } else if (country === 'US') {
          if (taxId && !/^\d{2}-?\d{7}$/.test(taxId)) issue(['taxId'], 'A US company’s EIN has 9 digits, e.g. 12-3456789.');
          if (!accountNumber) issue(['bank', 'accountNumber'], 'Please give your bank account number (4 to 17 digits).');
          else if (!/^\d{4,17}$/.test(accountNumber)) issue(['bank', 'accountNumber'], 'A US account number has 4 to 17 digits and nothing else; please check for a typo.');
          if (!routingNumber) issue(['bank', 'routingNumber'], 'Please give your bank’s nine-digit ABA routing number, e.g. 021000021.');
          else if (!/^\d{9}$/.test(routingNumber)) issue(['bank', 'routingNumber'], 'An ABA routing number has exactly 9 digits, e.g. 021000021.');
          else if (!isValidUsRoutingNumber(routingNumber)) issue(['bank', 'routingNumber'], 'This is not a valid ABA routing number: its check digit does not match, so there is probably a typo.');
          if (iban) issue(['bank', 'iban'], 'US bank accounts have no IBAN; please leave this empty and give the account and routing numbers instead.');
        } else {
          if (!iban && !accountNumber) issue(['bank', 'iban'], 'Please give either an IBAN or a bank account number.');
          // An IBAN from a country outside our length table can still be checked for typos.
          if (iban && IBAN_COUNTRIES.has(normalizeIban(iban).slice(0, 2))) {
            const problem = ibanProblem(iban);
            if (problem) issue(['bank', 'iban'], problem);
          } else if (iban && !(/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(normalizeIban(iban)) && ibanChecksumMatches(normalizeIban(iban)))) {
            issue(['bank', 'iban'], 'This is not a valid IBAN: please check for a typo.');
          }
        }
        if (bic && !isValidBic(bic)) {
          const shapeOk = BIC_PATTERN.test(bic.replace(/\s+/g, '').toUpperCase());
          issue(
            ['bank', 'bic'],
            shapeOk
              ? 'Letters 5 and 6 of a BIC are the bank’s country code, and these are not a country; please check for a typo.'
              : 'A BIC (SWIFT code) has 8 or 11 letters and digits, e.g. COBADEFF or COBADEFFXXX; please check for a typo.',
          );
        }

        if (EU_COUNTRIES.has(country)) {
          const prefix = vatPrefixOf(country);
          const example = VAT_FORMATS[prefix]!.example;
          if (!vatNumber) issue(['vatNumber'], `Companies registered in the EU must give their VAT number, e.g. ${example}.`);
          else if (!normalizeVat(vatNumber).startsWith(prefix)) issue(['vatNumber'], `A VAT number of a company registered in ${country} starts with ${prefix}, e.g. ${example}.`);
          else if (!isValidEuVatNumber(vatNumber, country)) issue(['vatNumber'], `This does not look like a ${prefix} VAT number; please check the digits (it looks like ${example}).`);
        }
        if (country === 'GB' && vatNumber && !/^GB(\d{9}|\d{12}|GD\d{3}|HA\d{3})$/.test(normalizeVat(vatNumber))) {
          issue(['vatNumber'], 'A UK VAT number is GB followed by 9 digits, e.g. GB123456789.');
        }
        if (country === 'CH' && taxId && !/^CHE-?\d{3}\.?\d{3}\.?\d{3}$/.test(taxId.toUpperCase())) {
          issue(['taxId'], 'A Swiss company’s UID looks like CHE-123.456.789.');
        }

        const addressCountry = filled(address.country)?.toUpperCase();
        const postal = addressCountry ? POSTAL_CODES[addressCountry] : undefined;
        const postalCode = filled(address.postalCode);
        if (postal && postalCode && !postal.pattern.test(postalCode.toUpperCase())) {
          issue(['registeredAddress', 'postalCode'], `This is not a valid postal code for ${addressCountry}; it looks like ${postal.example}.`);
        }

        const kindOf = (c: unknown) => (typeof c === 'object' && c !== null ? (c as { kind?: unknown }).kind : undefined);
        if (context.handlesPersonalData && !certificates.some((c) => kindOf(c) === 'iso27001' || kindOf(c) === 'soc2')) {
          issue(['certificates'], 'A supplier handling personal or confidential data must provide an ISO 27001 or SOC 2 certificate');
        }
        const today = context.today ?? new Date().toISOString().slice(0, 10);
        certificates.forEach((c, i) => {
          const validUntil = typeof c === 'object' && c !== null ? filled((c as { validUntil?: unknown }).validUntil) : undefined;
          // A malformed date already has its own message from the field's schema.
          if (validUntil && isRealDate(validUntil) && validUntil < today) issue(['certificates', i, 'validUntil'], 'has expired');
        });
      },
      { when: () => true },
    )
    .transform((d) => {
      const { iban, bic, ...bank } = d.bank;
      return {
        ...d,
        ...(d.vatNumber !== undefined ? { vatNumber: normalizeVat(d.vatNumber) } : {}),
        bank: { ...bank, ...(iban ? { iban: normalizeIban(iban) } : {}), ...(bic ? { bic: bic.replace(/\s+/g, '').toUpperCase() } : {}) },
      };
    });
}
export type SupplierDetails = z.output<ReturnType<typeof supplierDetailsFor>>;
