import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Run facts recorded on every execution so the Temporal UI and `temporal workflow list --query` can filter runs
 * without our database. The dev server registers them at start; on a real cluster run
 * `temporal operator search-attribute create --name <Name> --type <Type>` once for each (see README).
 */
export const searchAttributes = {
  process: defineSearchAttributeKey('OpsflowProcess', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('OpsflowStatus', SearchAttributeType.KEYWORD),
  requester: defineSearchAttributeKey('OpsflowRequester', SearchAttributeType.KEYWORD),
  amount: defineSearchAttributeKey('OpsflowAmount', SearchAttributeType.DOUBLE),
  currency: defineSearchAttributeKey('OpsflowCurrency', SearchAttributeType.KEYWORD),
  costCenter: defineSearchAttributeKey('OpsflowCostCenter', SearchAttributeType.KEYWORD),
  currentStep: defineSearchAttributeKey('OpsflowCurrentStep', SearchAttributeType.KEYWORD),
  currentApprover: defineSearchAttributeKey('OpsflowCurrentApprover', SearchAttributeType.KEYWORD),
} as const;

/** `Name=Type` pairs in the form `temporal server start-dev --search-attribute` takes. */
export function searchAttributeFlags(): string[] {
  const cliType: Record<string, string> = { KEYWORD: 'Keyword', DOUBLE: 'Double', INT: 'Int', TEXT: 'Text' };
  return Object.values(searchAttributes).map((key) => `${key.name}=${cliType[key.type] ?? key.type}`);
}
