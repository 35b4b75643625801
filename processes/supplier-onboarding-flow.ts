import { durationMs } from './duration.js';
import { formatIban, formatMoney, formatUtc } from './format.js';
import type { SupplierDetails } from './supplier-details.js';
import type { SupplierOnboardingInput, SupplierOnboardingPolicy } from './supplier-onboarding.js';
import { withFollowUp } from './task-dates.js';
import type { RunShape } from './types.js';

/** What the supplier onboarding workflow needs of its process, without zod (see capex-flow.ts). */

/**
 * The review step's approvers for runs that began before the security review became a task: procurement,
 * finance for the bank details, and security when the supplier handles our data.
 */
export function supplierReviewers(input: SupplierOnboardingInput, policy: SupplierOnboardingPolicy): string[] {
  return [...policy.reviewers, ...(input.handlesPersonalData ? (policy.personalDataReviewers ?? []) : [])];
}

function detailsOf(input: SupplierOnboardingInput): SupplierDetails | undefined {
  return input.details as SupplierDetails | undefined;
}

const certificatesOf = (details: SupplierDetails | undefined) => (details?.certificates ?? []).map((c) => `${c.kind} ${c.reference} (until ${c.validUntil})`).join(', ') || 'none';

/**
 * Security's review is work, not a sign-off: someone of the group checks the supplier's security questionnaire and
 * certificates against the data they will handle, and records a verdict the sign-off sees. Its task key and step.
 */
export const SECURITY_CHECK_STEP = 'security-check';

export const securityCheckTask = {
  title: 'Security check',
  instructions:
    'Check the supplier’s security questionnaire and certificates against the personal or confidential data they will handle, and record your verdict and findings: procurement and finance sign off with them in view; not acceptable ends the onboarding.',
};

export type SecurityVerdict = 'acceptable' | 'acceptable-with-conditions' | 'not-acceptable';

/** The task as the workflow opens it (it adds the candidate group's timing): due `dueIn` after the details arrived. */
export function securityCheckSpec(input: SupplierOnboardingInput, policy: SupplierOnboardingPolicy['securityCheck'], now: number) {
  return {
    key: SECURITY_CHECK_STEP,
    title: `Security check: ${input.legalName}`,
    instructions: `${input.legalName} (${input.country}, ${input.category}) will handle personal or confidential data. Certificates they gave: ${certificatesOf(detailsOf(input))}. ${securityCheckTask.instructions}`,
    candidateGroup: policy.candidateGroup,
    ...withFollowUp(now + durationMs(policy.dueIn), policy.followUpBeforeDue, now),
  };
}

/** What the security check came to, kept in the run's input as `securityCheck` so the sign-off's facts show it. */
export interface SecurityCheckSummary {
  verdict: SecurityVerdict;
  by: string;
  at: string;
  questionnaireComplete: boolean;
  findings: string | null;
}

export function securityCheckSummary(task: { holder: { name: string } | null; completedAt: number | null; values: Record<string, unknown> | null }): SecurityCheckSummary {
  const values = task.values ?? {};
  return {
    verdict: values.verdict as SecurityVerdict,
    by: task.holder?.name ?? 'security',
    at: new Date(task.completedAt ?? 0).toISOString(),
    questionnaireComplete: values.questionnaireComplete === true,
    findings: typeof values.findings === 'string' && values.findings ? values.findings : null,
  };
}

const verdictWords: Record<SecurityVerdict, string> = {
  acceptable: 'Acceptable',
  'acceptable-with-conditions': 'Acceptable with conditions',
  'not-acceptable': 'NOT ACCEPTABLE',
};

function securityFact(check: SecurityCheckSummary): { label: string; value: string } {
  const lines = [
    `${verdictWords[check.verdict]}, by ${check.by} (${formatUtc(Date.parse(check.at))})`,
    `Questionnaire complete: ${check.questionnaireComplete ? 'yes' : 'no'}`,
    ...(check.findings ? [`Findings: ${check.findings}`] : []),
  ];
  return { label: 'Security check', value: lines.join('\n') };
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
            { label: 'Certificates', value: certificatesOf(details) },
          ]
        : []),
      ...(input.securityCheck ? [securityFact(input.securityCheck as SecurityCheckSummary)] : []),
    ];
  },
};
