import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatIban, isValidBic, isValidEuVatNumber, isValidIban, isValidUsRoutingNumber, supplierDetailsFor, supplierDetailsSchema } from '../../processes/supplier-details.js';

const german = {
  taxId: 'HRB 12345',
  vatNumber: 'de 123 456 789',
  registeredAddress: { line1: 'Torstraße 1', city: 'Berlin', postalCode: '10119', country: 'DE' },
  bank: { accountHolder: 'Vogel GmbH', iban: 'de89 3704 0044 0532 0130 00', bic: 'cobadeffxxx' },
  certificates: [{ kind: 'iso27001', reference: 'C-1', validUntil: '2030-01-01' }],
};
const paths = (result: { success: boolean; error?: z.ZodError }) => (result.error?.issues ?? []).map((i) => i.path.join('.')).sort();

describe('supplier details', () => {
  it('checks IBANs by country length and mod-97 check digits', () => {
    for (const iban of ['DE89370400440532013000', 'GB82 WEST 1234 5698 7654 32', 'fr1420041010050500013m02606', 'NL91ABNA0417164300', 'BE68539007547034']) {
      expect(isValidIban(iban), iban).toBe(true);
    }
    expect(isValidIban('DE89370400440532013001')).toBe(false);
    expect(isValidIban('DE8937040044053201300')).toBe(false);
    expect(isValidIban('ZZ89370400440532013000')).toBe(false);
    expect(formatIban('de89370400440532013000')).toBe('DE89 3704 0044 0532 0130 00');
  });

  it('checks BICs, EU VAT formats and US routing numbers', () => {
    expect(isValidBic('DEUTDEFF')).toBe(true);
    expect(isValidBic('DEUTDEFF500')).toBe(true);
    expect(isValidBic('DEUTXXFF')).toBe(false);
    expect(isValidEuVatNumber('DE123456789', 'DE')).toBe(true);
    expect(isValidEuVatNumber('NL123456789B01', 'NL')).toBe(true);
    expect(isValidEuVatNumber('ATU12345678', 'AT')).toBe(true);
    expect(isValidEuVatNumber('EL123456789', 'GR')).toBe(true);
    expect(isValidEuVatNumber('FR123456789', 'DE')).toBe(false);
    expect(isValidEuVatNumber('DE12345678', 'DE')).toBe(false);
    expect(isValidUsRoutingNumber('021000021')).toBe(true);
    expect(isValidUsRoutingNumber('021000022')).toBe(false);
  });

  it('accepts a complete German supplier and normalizes what it stores', () => {
    const parsed = supplierDetailsFor({ country: 'DE', handlesPersonalData: true, today: '2026-11-25' }).parse(german);
    expect(parsed.bank).toMatchObject({ iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' });
    expect(parsed.vatNumber).toBe('DE123456789');
  });

  it('names each field that breaks a rule for the supplier’s country', () => {
    const rules = supplierDetailsFor({ country: 'DE', handlesPersonalData: true, today: '2031-01-01' });
    const broken = { ...german, vatNumber: undefined, registeredAddress: { ...german.registeredAddress, postalCode: '1011' }, bank: { accountHolder: 'x', iban: 'DE89370400440532013001' } };
    expect(paths(rules.safeParse(broken))).toEqual(['bank.bic', 'bank.iban', 'certificates.0.validUntil', 'registeredAddress.postalCode', 'vatNumber']);
    const noCertificate = { ...german, certificates: [] };
    expect(paths(rules.safeParse(noCertificate))).toEqual(['certificates']);
    expect(paths(supplierDetailsFor({ country: 'DE', handlesPersonalData: false, today: '2026-11-25' }).safeParse(noCertificate))).toEqual([]);
  });

  it('reports the country rules together with missing fields, so the supplier fixes everything in one go', () => {
    const rules = supplierDetailsFor({ country: 'DE', handlesPersonalData: false, today: '2026-11-25' });
    const incomplete = { ...german, registeredAddress: { line1: 'Torstraße 1', country: 'DE' }, bank: { accountHolder: 'Vogel GmbH', iban: 'DE89370400440532013001', bic: 'COBADEFFXXX' } };
    expect(paths(rules.safeParse(incomplete))).toEqual(['bank.iban', 'registeredAddress.city', 'registeredAddress.postalCode']);
  });

  it('asks US suppliers for an EIN, account and ABA routing number instead of an IBAN', () => {
    const rules = supplierDetailsFor({ country: 'US', handlesPersonalData: false });
    const us = { taxId: '12-3456789', registeredAddress: { line1: '1 Main St', city: 'Austin', postalCode: '73301', country: 'US' }, bank: { accountHolder: 'Acme Inc', accountNumber: '123456789', routingNumber: '021000021' } };
    expect(rules.safeParse(us).success).toBe(true);
    expect(paths(rules.safeParse({ ...us, taxId: 'EIN', bank: { accountHolder: 'Acme Inc', iban: 'DE89370400440532013000' } }))).toEqual(['bank.accountNumber', 'bank.iban', 'bank.routingNumber', 'taxId']);
  });

  it('has a JSON Schema with the hints the supplier’s form shows', () => {
    const schema = z.toJSONSchema(supplierDetailsSchema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { description?: string; properties?: Record<string, { description?: string }> }> };
    expect(schema.properties.vatNumber?.description).toContain('required for suppliers in the EU');
    expect(schema.properties.bank?.properties?.iban?.description).toContain('Europe');
  });
});
