// The worker's workflow bundle entry: every process workflow, by its exported name (ProcessDefinition.workflowType).
export { capexWorkflow } from './capex.js';
export { contractWorkflow } from './contract.js';
export { webhookDeliveryWorkflow } from './webhook-delivery.js';
export { invoiceMatchWorkflow } from './invoice-match.js';
export { hiringWorkflow } from './hiring.js';
export { supplierOnboardingWorkflow } from './supplier-onboarding.js';
export { supplierRescreeningWorkflow } from './supplier-rescreening.js';
export { launchReadinessWorkflow } from './launch-readiness.js';
export { signInLinkWorkflow, approverDigestWorkflow } from './person-mail.js';
export { incidentWorkflow } from './incident.js';
