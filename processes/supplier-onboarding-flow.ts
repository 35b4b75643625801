import { formatIban, formatMoney } from './format.js';
import type { SupplierDetails } from './supplier-details.js';
import type { SupplierOnboardingInput, SupplierOnboardingPolicy } from './supplier-onboarding.js';
import type { RunShape } from './types.js';

/** What the supplier onboarding workflow needs of its process, without zod (see capex-flow.ts). */

/** Procurement always, finance for the bank details, security when the supplier handles our data. */
export function supplierReviewers(input: SupplierOnboardingInput, policy: SupplierOnboardingPolicy): string[] {
  return [...policy.reviewers, ...(input.handlesPersonalData ? policy.personalDataReviewers : [])];
}

function detailsOf(input: SupplierOnboardingInput): SupplierDetails | undefined {
  return input.details as SupplierDetails | undefined;
}

export const supplierOnboardingRun: RunShape<SupplierOnboardingInput> = {
  key: 'supplier-onboarding',
  summarize: (input) => ({
    title: `Supplier ${input.legalName} (${input.country})`,
    requester: input.requester,
    amount: input.expectedAnnualSpend,
    currency: input.currency,
  }),
  describe: (input) => {
    const details = detailsOf(input);
    return [
      { label: 'Supplier', value: `${input.legalName}, ${input.country}` },
      { label: 'Category', value: input.category },
      { label: 'Expected annual spend', value: formatMoney(input.expectedAnnualSpend, input.currency) },
      { label: 'Handles personal data', value: input.handlesPersonalData ? 'Yes: security reviews it' : 'No' },
      ...(details
        ? [
            { label: 'Tax id / VAT', value: [details.taxId, details.vatNumber].filter(Boolean).join(' / ') },
            { label: 'Registered address', value: [details.registeredAddress.line1, details.registeredAddress.line2, `${details.registeredAddress.postalCode} ${details.registeredAddress.city}`, details.registeredAddress.country].filter(Boolean).join(', ') },
            { label: 'Bank account', value: [details.bank.accountHolder, details.bank.iban ? formatIban(details.bank.iban) : details.bank.accountNumber, details.bank.bic ?? details.bank.routingNumber].filter(Boolean).join(' · ') },
            { label: 'Certificates', value: details.certificates.map((c) => `${c.kind} ${c.reference} (until ${c.validUntil})`).join(', ') || 'none' },
          ]
        : []),
    ];
  },
};
