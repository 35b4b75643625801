import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SupplierOnboardingInput, SupplierOnboardingPolicy } from '../processes/supplier-onboarding.js';
import { SECURITY_CHECK_STEP, securityCheckSpec, securityCheckSummary, supplierOnboardingRun, supplierReviewers } from '../processes/supplier-onboarding-flow.js';
import type { SupplierDetails } from '../processes/supplier-details.js';
import type { RunArgs } from '../processes/types.js';
import type { DecisionResult } from './approval.js';
import { openRun, revokeLinksAndTellRequester, runApprovalChain } from './approval-chain.js';
import { FormDesk } from './external-form.js';
import { trackRun } from './run-lifecycle.js';
import { TaskDesk } from './tasks.js';
import { decidePatchBaseline, hasPatch, SECURITY_CHECK_AS_TASK } from './patches.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export interface SupplierOnboardingResult {
  outcome: 'onboarded' | 'rejected' | 'expired';
  vendorId?: string;
  approvals: DecisionResult[];
}

/** Screening (a hit goes to compliance), the supplier's own details by link, parallel reviews, ERP vendor. */
export async function supplierOnboardingWorkflow(args: RunArgs<SupplierOnboardingInput, SupplierOnboardingPolicy>): Promise<SupplierOnboardingResult> {
  decidePatchBaseline();
  const securityCheckAsTask = hasPatch(SECURITY_CHECK_AS_TASK);
  const { tracker, desk, policy: settings } = await openRun(supplierOnboardingRun, args);
  const runId = tracker.runId;
  const forms = new FormDesk(runId);
  // The check is a control on the supplier the requester asked for: they (and whoever started the run) take no part.
  const tasks = new TaskDesk({ runId, requesterEmail: args.input.requester.email, startedBy: args.startedBy, keepRequesterOut: true });
  const systems = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: settings.vendorTimeout,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  const chainContext = { desk, tracker, policy: settings, summarize: supplierOnboardingRun.summarize };

  const result = await trackRun(
    tracker,
    async (): Promise<SupplierOnboardingResult> => {
      let input = args.input;
      const approvals: DecisionResult[] = [];

      await tracker.enterStep('screening');
      const screening = await systems.screenSupplier({ runId, reference: runId, name: input.legalName, country: input.country, step: 'screening' });
      if (screening.status === 'hit') {
        const matches = screening.matches.map((m) => `${m.list} "${m.name}" ${Math.round(m.score * 100)}%`).join(', ');
        const review = await runApprovalChain(chainContext, input, () => [
          { stepId: 'compliance-review', title: `Compliance review of a screening match: ${matches}`, approvers: settings.complianceReviewers, timing: settings.approval },
        ]);
        approvals.push(...review.approvals);
        if (review.outcome !== 'approved') return { outcome: review.outcome, approvals };
        input = review.input;
      }

      await tracker.enterStep('supplier-details', input.contact.email);
      const details = (await forms.request({
        formKey: 'details',
        title: `${input.legalName}: your company details`,
        recipient: input.contact,
        timeout: settings.detailsTimeout,
        message: [`${input.requester.name} would like to set ${input.legalName} up as a supplier. Please tell us your tax, address and bank details through this link.`],
      })) as SupplierDetails | undefined;
      if (!details) {
        const reason = `${input.contact.name} did not send the company details within ${settings.detailsTimeout}`;
        await tracker.closeAndTell('expired', 'expired', { reason, notice: { outcome: 'expired', reason } });
        return { outcome: 'expired', approvals };
      }
      input = { ...input, details };

      if (securityCheckAsTask && input.handlesPersonalData) {
        await tracker.enterStep(SECURITY_CHECK_STEP);
        const id = await tasks.open({ ...securityCheckSpec(input, settings.securityCheck, Date.now()), stepId: SECURITY_CHECK_STEP, timing: settings.securityCheck });
        // No deadline of its own: an overdue check is chased and escalated until someone does it.
        await tasks.waitForAll([id]);
        const securityCheck = securityCheckSummary(tasks.outcomes([id])[0]!);
        await acts.recordTaskSummary({ runId, stepId: SECURITY_CHECK_STEP, field: 'securityCheck', summary: securityCheck });
        input = { ...input, securityCheck };
        if (securityCheck.verdict === 'not-acceptable') {
          const reason = `Security check by ${securityCheck.by}: not acceptable. ${securityCheck.findings ?? ''}`.trim();
          await tasks.closeAll('the run ended');
          await tracker.closeAndTell('rejected', 'rejected', { reason, notice: { outcome: 'rejected', reason, decidedBy: `${securityCheck.by} (security check)` } });
          return { outcome: 'rejected', approvals };
        }
      }

      const reviews = await runApprovalChain(chainContext, input, (current) => [
        securityCheckAsTask
          ? { stepId: 'reviews', title: 'Procurement and finance (bank details) sign-off', approvers: settings.reviewers, rule: { kind: 'all' }, timing: settings.approval }
          : { stepId: 'reviews', title: 'Procurement, finance (bank details) and security review', approvers: supplierReviewers(current, settings), rule: { kind: 'all' }, timing: settings.approval },
      ]);
      approvals.push(...reviews.approvals);
      if (reviews.outcome !== 'approved') return { outcome: reviews.outcome, approvals };
      await tasks.closeAll('the run ended');

      await tracker.enterStep('create-vendor');
      const { vendorId } = await systems.createVendor({ runId, input: reviews.input, details });
      await tracker.closeAndTell('completed', 'onboarded', { notice: { outcome: 'approved', facts: [{ label: 'Supplier number', value: vendorId }] } });
      await acts.welcomeSupplier({ runId, input: reviews.input, vendorId });
      return { outcome: 'onboarded', vendorId, approvals };
    },
    async (status, reason) => {
      await tasks.closeAll(`the run was ${status}`);
      await revokeLinksAndTellRequester(desk, tracker)(status, reason);
    },
  );
  await condition(allHandlersFinished);
  return result;
}
