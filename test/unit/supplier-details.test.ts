import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  COUNTRY_CODES,
  EU_COUNTRIES,
  IBAN_COUNTRIES,
  formatIban,
  isValidBic,
  isValidEuVatNumber,
  isValidIban,
  isValidUsRoutingNumber,
  normalizeIban,
  supplierDetailsFor,
  supplierDetailsSchema,
  type SupplierDetailsInput,
} from '../../processes/supplier-details.js';

const german = {
  taxId: 'HRB 12345',
  vatNumber: 'de 123 456 789',
  registeredAddress: { line1: 'Torstraße 1', city: 'Berlin', postalCode: '10119', country: 'DE' },
  bank: { accountHolder: 'Vogel GmbH', iban: 'de89 3704 0044 0532 0130 00', bic: 'cobadeffxxx' },
  certificates: [{ kind: 'iso27001', reference: 'C-1', validUntil: '2030-01-01' }],
} satisfies SupplierDetailsInput;
const us = {
  taxId: '12-3456789',
  registeredAddress: { line1: '1 Main St', city: 'Austin', postalCode: '73301', country: 'US' },
  bank: { accountHolder: 'Acme Inc', accountNumber: '123456789', routingNumber: '021000021' },
} satisfies SupplierDetailsInput;

type Result = { success: boolean; error?: z.ZodError };
const paths = (result: Result) => (result.error?.issues ?? []).map((i) => i.path.join('.')).sort();
const messageAt = (result: Result, path: string) => result.error?.issues.find((i) => i.path.join('.') === path)?.message;
const de = (handlesPersonalData = false) => supplierDetailsFor({ country: 'DE', handlesPersonalData, today: '2026-11-25' });

describe('IBAN', () => {
  const valid = ['DE89370400440532013000', 'GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300', 'BE68539007547034'];

  it('accepts valid IBANs with or without spaces, in any case', () => {
    for (const iban of valid) {
      expect(isValidIban(iban), iban).toBe(true);
      expect(isValidIban(formatIban(iban)), formatIban(iban)).toBe(true);
      expect(isValidIban(formatIban(iban).toLowerCase()), iban.toLowerCase()).toBe(true);
    }
  });

  it('refuses a changed digit, a wrong length and an unknown country', () => {
    expect(isValidIban('DE89370400440532013001')).toBe(false);
    expect(isValidIban('GB82WEST12345698765433')).toBe(false);
    expect(isValidIban('DE8937040044053201300')).toBe(false);
    expect(isValidIban('DE893704004405320130000')).toBe(false);
    expect(isValidIban('ZZ89370400440532013000')).toBe(false);
    expect(isValidIban('')).toBe(false);
    expect(isValidIban('DE89-3704-0044-0532-0130-00')).toBe(false);
  });

  it('normalizes and formats', () => {
    expect(normalizeIban(' de89 3704 0044 0532 0130 00 ')).toBe('DE89370400440532013000');
    expect(formatIban('de89370400440532013000')).toBe('DE89 3704 0044 0532 0130 00');
  });

  it('knows every EU/EEA state and the other European IBAN countries', () => {
    for (const country of [...EU_COUNTRIES, 'IS', 'LI', 'NO', 'GB', 'CH', 'GI', 'MC', 'SM', 'AD', 'VA']) expect(IBAN_COUNTRIES.has(country), country).toBe(true);
    expect(EU_COUNTRIES.size).toBe(27);
    expect(COUNTRY_CODES.size).toBe(249);
  });
});

describe('BIC, VAT and routing numbers', () => {
  it('checks BICs by shape and country', () => {
    expect(isValidBic('DEUTDEFF')).toBe(true);
    expect(isValidBic('DEUTDEFF500')).toBe(true);
    expect(isValidBic('deutdeff')).toBe(true);
    expect(isValidBic('DEUTXXFF')).toBe(false);
    expect(isValidBic('DEUTDEF')).toBe(false);
    expect(isValidBic('DEUTDEFF5')).toBe(false);
    expect(isValidBic('DEU1DEFF')).toBe(false);
  });

  it('checks EU VAT numbers per country', () => {
    const valid: Array<[string, string]> = [
      ['DE123456789', 'DE'],
      ['de 123.456-789', 'DE'],
      ['FR12345678901', 'FR'],
      ['FRAB123456789', 'FR'],
      ['NL123456789B01', 'NL'],
      ['ATU12345678', 'AT'],
      ['BE0123456789', 'BE'],
      ['ESX1234567X', 'ES'],
      ['ES12345678Z', 'ES'],
      ['IT12345678901', 'IT'],
      ['IE1234567WA', 'IE'],
      ['IE1234567T', 'IE'],
      ['PL1234567890', 'PL'],
      ['SE123456789001', 'SE'],
      ['EL123456789', 'GR'],
      ['XI123456789', 'XI'],
    ];
    for (const [vat, country] of valid) expect(isValidEuVatNumber(vat, country), `${vat} ${country}`).toBe(true);
    const invalid: Array<[string, string]> = [
      ['FR12345678901', 'DE'],
      ['DE123456789', 'AT'],
      ['GR123456789', 'GR'],
      ['DE12345678', 'DE'],
      ['AT12345678', 'AT'],
      ['NL123456789', 'NL'],
      ['BE2123456789', 'BE'],
      ['SE123456789012', 'SE'],
      ['US123456789', 'US'],
    ];
    for (const [vat, country] of invalid) expect(isValidEuVatNumber(vat, country), `${vat} ${country}`).toBe(false);
  });

  it('checks ABA routing numbers', () => {
    expect(isValidUsRoutingNumber('021000021')).toBe(true);
    expect(isValidUsRoutingNumber('021000022')).toBe(false);
    expect(isValidUsRoutingNumber('02100002')).toBe(false);
    expect(isValidUsRoutingNumber('02100002a')).toBe(false);
  });
});

describe('supplier details', () => {
  it('accepts a complete German supplier and normalizes what it stores', () => {
    const parsed = supplierDetailsFor({ country: 'DE', handlesPersonalData: true, today: '2026-11-25' }).parse({ ...german, contactPhone: '+49 30 1234567' });
    expect(parsed.bank).toEqual({ accountHolder: 'Vogel GmbH', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' });
    expect(parsed.vatNumber).toBe('DE123456789');
    expect(parsed.certificates).toHaveLength(1);
    expect(parsed.contactPhone).toBe('+49 30 1234567');
    expect(de().parse({ ...german, certificates: undefined }).certificates).toEqual([]);
  });

  it('requires IBAN, BIC and a VAT number from an EU supplier and checks each', () => {
    const missing = de().safeParse({ ...german, vatNumber: undefined, bank: { accountHolder: 'Vogel GmbH' } });
    expect(paths(missing)).toEqual(['bank.bic', 'bank.iban', 'vatNumber']);
    const typo = de().safeParse({ ...german, bank: { ...german.bank, iban: 'DE89370400440532013001', bic: 'COBAXXFF' }, vatNumber: 'DE12345678' });
    expect(paths(typo)).toEqual(['bank.bic', 'bank.iban', 'vatNumber']);
    expect(messageAt(typo, 'bank.iban')).toMatch(/not a valid IBAN.*check digits do not match/);
    expect(messageAt(de().safeParse({ ...german, bank: { ...german.bank, iban: 'DE8937040044053201300' } }), 'bank.iban')).toMatch(/22 characters/);
    expect(messageAt(de().safeParse({ ...german, vatNumber: 'FR12345678901' }), 'vatNumber')).toMatch(/starts with DE/);
  });

  it('accepts an IBAN from another European country than the supplier’s', () => {
    expect(de().safeParse({ ...german, bank: { ...german.bank, iban: 'NL91ABNA0417164300', bic: 'ABNANL2A' } }).success).toBe(true);
  });

  it('expects EL VAT numbers from Greek suppliers', () => {
    const greek = { ...german, vatNumber: 'EL 123456789', registeredAddress: { ...german.registeredAddress, postalCode: '105 57', country: 'GR' } };
    const rules = supplierDetailsFor({ country: 'GR', handlesPersonalData: false, today: '2026-11-25' });
    expect(rules.parse(greek).vatNumber).toBe('EL123456789');
    expect(paths(rules.safeParse({ ...greek, vatNumber: 'GR123456789' }))).toEqual(['vatNumber']);
  });

  it('applies the UK and Swiss rules', () => {
    const uk = { ...german, vatNumber: undefined, registeredAddress: { line1: '1 High St', city: 'London', postalCode: 'SW1A 1AA', country: 'GB' }, bank: { accountHolder: 'Acme Ltd', iban: 'GB82 WEST 1234 5698 7654 32', bic: 'NWBKGB2L' } };
    const gb = supplierDetailsFor({ country: 'GB', handlesPersonalData: false });
    expect(gb.safeParse(uk).success).toBe(true);
    expect(gb.safeParse({ ...uk, vatNumber: 'GB 123 4567 89' }).success).toBe(true);
    expect(paths(gb.safeParse({ ...uk, vatNumber: 'GB12345' }))).toEqual(['vatNumber']);
    expect(paths(gb.safeParse({ ...uk, registeredAddress: { ...uk.registeredAddress, postalCode: '12345' } }))).toEqual(['registeredAddress.postalCode']);

    const swiss = { ...uk, taxId: 'CHE-123.456.789', registeredAddress: { line1: 'Bahnhofstrasse 1', city: 'Zürich', postalCode: '8001', country: 'CH' }, bank: { accountHolder: 'Acme AG', iban: 'CH93 0076 2011 6238 5295 7', bic: 'UBSWCHZH80A' } };
    const ch = supplierDetailsFor({ country: 'CH', handlesPersonalData: false });
    expect(ch.safeParse(swiss).success).toBe(true);
    expect(paths(ch.safeParse({ ...swiss, taxId: 'CH-123' }))).toEqual(['taxId']);
  });

  it('names each field that breaks a rule for the supplier’s country', () => {
    const rules = supplierDetailsFor({ country: 'DE', handlesPersonalData: true, today: '2031-01-01' });
    const broken = { ...german, vatNumber: undefined, registeredAddress: { ...german.registeredAddress, postalCode: '1011' }, bank: { accountHolder: 'x', iban: 'DE89370400440532013001' } };
    expect(paths(rules.safeParse(broken))).toEqual(['bank.bic', 'bank.iban', 'certificates.0.validUntil', 'registeredAddress.postalCode', 'vatNumber']);
  });

  it('checks the postal code against the address’s country', () => {
    const at = (postalCode: string, country: string) => de().safeParse({ ...german, registeredAddress: { ...german.registeredAddress, postalCode, country } });
    expect(at('1012 AB', 'NL').success).toBe(true);
    expect(at('1012ab', 'NL').success).toBe(true);
    expect(paths(at('1012', 'NL'))).toEqual(['registeredAddress.postalCode']);
    expect(at('1010', 'AT').success).toBe(true);
    expect(paths(at('10115', 'AT'))).toEqual(['registeredAddress.postalCode']);
    expect(at('any code', 'PT').success).toBe(true);
    expect(paths(at('10115', 'XX'))).toEqual(['registeredAddress.country']);
    expect(paths(at('10115', 'Germany'))).toEqual(['registeredAddress.country']);
    expect(de().parse({ ...german, registeredAddress: { ...german.registeredAddress, country: 'de' } }).registeredAddress.country).toBe('DE');
  });

  it('reports the country rules together with missing fields, so the supplier fixes everything in one go', () => {
    const incomplete = { ...german, registeredAddress: { line1: 'Torstraße 1', country: 'DE' }, bank: { accountHolder: 'Vogel GmbH', iban: 'DE89370400440532013001', bic: 'COBADEFFXXX' } };
    expect(paths(de().safeParse(incomplete))).toEqual(['bank.iban', 'registeredAddress.city', 'registeredAddress.postalCode']);
    expect(paths(de().safeParse({ taxId: 'HRB 1' }))).toEqual(['bank', 'bank.bic', 'bank.iban', 'registeredAddress', 'vatNumber']);
    expect(de().safeParse(null).success).toBe(false);
  });

  it('asks US suppliers for an EIN, account and ABA routing number instead of an IBAN', () => {
    const rules = supplierDetailsFor({ country: 'US', handlesPersonalData: false });
    expect(rules.safeParse(us).success).toBe(true);
    expect(paths(rules.safeParse({ ...us, bank: { accountHolder: 'Acme Inc' } }))).toEqual(['bank.accountNumber', 'bank.routingNumber']);
    expect(paths(rules.safeParse({ ...us, taxId: 'EIN', bank: { accountHolder: 'Acme Inc', iban: 'DE89370400440532013000' } }))).toEqual(['bank.accountNumber', 'bank.iban', 'bank.routingNumber', 'taxId']);
    expect(paths(rules.safeParse({ ...us, bank: { ...us.bank, routingNumber: '021000022', accountNumber: '12' } }))).toEqual(['bank.accountNumber', 'bank.routingNumber']);
    expect(paths(rules.safeParse({ ...us, registeredAddress: { ...us.registeredAddress, postalCode: '7330' } }))).toEqual(['registeredAddress.postalCode']);
    expect(rules.safeParse({ ...us, registeredAddress: { ...us.registeredAddress, postalCode: '73301-1234' } }).success).toBe(true);
  });

  it('asks suppliers elsewhere for an IBAN or an account number', () => {
    const rules = supplierDetailsFor({ country: 'JP', handlesPersonalData: false });
    const japanese = { taxId: 'T1234567890123', registeredAddress: { line1: '1-1 Chiyoda', city: 'Tokyo', postalCode: '100-0001', country: 'JP' }, bank: { accountHolder: 'Acme KK' } };
    const missing = rules.safeParse(japanese);
    expect(paths(missing)).toEqual(['bank.iban']);
    expect(messageAt(missing, 'bank.iban')).toMatch(/IBAN or a bank account number/);
    expect(rules.safeParse({ ...japanese, bank: { accountHolder: 'Acme KK', accountNumber: '1234567' } }).success).toBe(true);
  });

  it('asks a supplier handling personal data for an ISO 27001 or SOC 2 certificate', () => {
    const noCertificate = { ...german, certificates: [] };
    const result = de(true).safeParse(noCertificate);
    expect(paths(result)).toEqual(['certificates']);
    expect(messageAt(result, 'certificates')).toBe('A supplier handling personal or confidential data must provide an ISO 27001 or SOC 2 certificate');
    expect(paths(de(true).safeParse({ ...german, certificates: [{ kind: 'iso9001', reference: 'Q-1', validUntil: '2030-01-01' }] }))).toEqual(['certificates']);
    expect(de(true).safeParse({ ...german, certificates: [{ kind: 'soc2', reference: 'S-1', validUntil: '2030-01-01' }] }).success).toBe(true);
    expect(paths(de(false).safeParse(noCertificate))).toEqual([]);
  });

  it('refuses expired certificates and impossible dates', () => {
    const withCertificate = (validUntil: string) => ({ ...german, certificates: [{ kind: 'insurance' as const, reference: 'I-1', validUntil }, ...german.certificates] });
    const expired = de().safeParse(withCertificate('2026-11-24'));
    expect(paths(expired)).toEqual(['certificates.0.validUntil']);
    expect(messageAt(expired, 'certificates.0.validUntil')).toBe('has expired');
    expect(de().safeParse(withCertificate('2026-11-25')).success).toBe(true);
    expect(paths(de().safeParse(withCertificate('2027-02-30')))).toEqual(['certificates.0.validUntil']);
    expect(paths(de().safeParse(withCertificate('31.12.2027')))).toEqual(['certificates.0.validUntil']);
    // Without `today` the rules use the current date.
    expect(paths(supplierDetailsFor({ country: 'DE', handlesPersonalData: false }).safeParse(withCertificate('2000-01-01')))).toEqual(['certificates.0.validUntil']);
  });

  it('checks the base fields with messages a supplier understands', () => {
    const tooMany = Array.from({ length: 11 }, () => german.certificates[0]!);
    expect(paths(de().safeParse({ ...german, certificates: tooMany }))).toEqual(['certificates']);
    expect(paths(de().safeParse({ ...german, certificates: [{ kind: 'passport', reference: 'x', validUntil: '2030-01-01' }] }))).toEqual(['certificates.0.kind']);
    const badPhone = de().safeParse({ ...german, contactPhone: '030 1234567' });
    expect(paths(badPhone)).toEqual(['contactPhone']);
    expect(messageAt(badPhone, 'contactPhone')).toMatch(/international format/);
    const longTaxId = de().safeParse({ ...german, taxId: 'x'.repeat(51) });
    expect(messageAt(longTaxId, 'taxId')).toMatch(/at most 50 characters/);
    expect(messageAt(de().safeParse({ ...german, taxId: '  ' }), 'taxId')).toBe('Please fill this in.');
    for (const issue of de().safeParse({ taxId: 'HRB 1', bank: {}, registeredAddress: {} }).error!.issues) expect(issue.message).not.toMatch(/^Invalid/);
  });

  it('has a JSON Schema with the titles and hints the supplier’s form shows', () => {
    type Node = { title?: string; description?: string; properties?: Record<string, Node>; items?: Node; required?: string[] };
    const schema = z.toJSONSchema(supplierDetailsSchema, { io: 'input', unrepresentable: 'any' }) as Node;
    const props = schema.properties!;
    expect(props.taxId).toMatchObject({ title: 'Tax ID', description: expect.stringContaining('Company registration or tax identification number') });
    expect(props.vatNumber?.description).toContain('required for suppliers in the EU');
    expect(props.bank?.properties?.iban).toMatchObject({ title: 'IBAN', description: expect.stringContaining('Europe') });
    expect(props.registeredAddress?.properties?.country?.title).toBe('Country');
    expect(props.certificates?.items?.properties?.validUntil?.title).toBe('Valid until');
    expect(props.contactPhone?.title).toBe('Contact phone');
    expect(schema.required).toEqual(expect.arrayContaining(['taxId', 'registeredAddress', 'bank']));
    expect(schema.required).not.toContain('vatNumber');
    expect(props.registeredAddress?.required).toEqual(expect.arrayContaining(['line1', 'city', 'postalCode', 'country']));
    expect(props.bank?.required).toEqual(['accountHolder']);
  });
});
