import { describe, expect, it } from 'vitest';
import { productionLimits } from '../../processes/policy.js';
import { securityCheckForm, supplierOnboardingPolicySchema, supplierReviewers, type SupplierOnboardingInput } from '../../processes/supplier-onboarding.js';

const policySchema = supplierOnboardingPolicySchema(productionLimits);
const input = { handlesPersonalData: true } as SupplierOnboardingInput;

describe('supplier onboarding: the security check is a task, procurement and finance sign off', () => {
  it('asks security to check as a group task, due 3d after the details, instead of approving', () => {
    const policy = policySchema.parse({});
    expect(policy.securityCheck).toMatchObject({ candidateGroup: 'role:security', dueIn: '3d', followUpBeforeDue: '1d', reminderEvery: '1d', escalateAfter: '1d', escalateTo: 'manager-of-holder' });
    expect(policy.personalDataReviewers).toBeUndefined();
  });

  it('still reads a stored policy that names personalDataReviewers, which runs begun before the change approve with', () => {
    const stored = policySchema.parse({ personalDataReviewers: ['role:security'] });
    expect(supplierReviewers(input, stored)).toEqual(['role:procurement', 'role:finance-director', 'role:security']);
    expect(supplierReviewers({ ...input, handlesPersonalData: false }, stored)).toEqual(['role:procurement', 'role:finance-director']);
  });

  it('completes the check only with a complete questionnaire unless refused, and with findings unless plainly acceptable', () => {
    const check = securityCheckForm.validatorFor(input);
    const issues = (values: unknown) => (check.safeParse(values).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ verdict: 'acceptable', questionnaireComplete: true })).toEqual([]);
    expect(issues({ verdict: 'acceptable', questionnaireComplete: false })).toEqual([
      'questionnaireComplete: a supplier is acceptable only with a complete questionnaire: tick it, or choose not acceptable',
    ]);
    expect(issues({ verdict: 'acceptable-with-conditions', questionnaireComplete: true })).toEqual(['findings: say what the conditions are, or why it is not acceptable']);
    expect(issues({ verdict: 'not-acceptable', questionnaireComplete: false, findings: 'No encryption at rest' })).toEqual([]);
  });
});
