import { allHandlersFinished, condition, continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { SupplierRescreeningInput, SupplierRescreeningPolicy } from '../processes/supplier-rescreening.js';
import { supplierRescreeningRun } from '../processes/supplier-rescreening-flow.js';
import type { RunArgs } from '../processes/types.js';
import { openRun, revokeLinksAndTellRequester } from './approval-chain.js';
import { trackRun } from './run-lifecycle.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export interface RescreeningResult {
  screened: number;
  hits: number;
  blocked: string[];
}

/** Where a re-screening stands when it continues as a new execution: after which vendor, and the tally so far. */
export interface RescreeningProgress extends RescreeningResult {
  after?: string;
}

export type RescreeningArgs = RunArgs<SupplierRescreeningInput, SupplierRescreeningPolicy> & { progress?: RescreeningProgress };

/**
 * Every active vendor screened again; each match decided by compliance, a rejected one blocked in the ERP.
 * Vendors come a page at a time; after each page the run continues as a new execution carrying the tally and
 * the last vendor screened, so thousands of vendors never grow one history past Temporal's limits and none is
 * screened twice.
 */
export async function supplierRescreeningWorkflow(args: RescreeningArgs): Promise<RescreeningResult> {
  const { tracker, desk, policy, stamp } = await openRun(supplierRescreeningRun, args);
  const runId = tracker.runId;
  const progress: RescreeningProgress = args.progress ?? { screened: 0, hits: 0, blocked: [] };
  const result = await trackRun(
    tracker,
    async (): Promise<RescreeningResult> => {
      await tracker.enterStep('rescreening');
      const page = await acts.activeVendorsPage({ after: progress.after, limit: policy.vendorsPerExecution });
      for (const vendor of page.vendors) {
        const check = await acts.screenSupplier({ runId, reference: `${runId}:${vendor.vendorId}`, name: vendor.legalName, country: vendor.country, step: 'rescreening' });
        if (check.status === 'hit') {
          progress.hits += 1;
          const matches = check.matches.map((m) => `${m.list} "${m.name}"`).join(', ');
          const review = await desk.step({
            stepId: `compliance-review:${vendor.vendorId}`,
            title: `Keep ${vendor.legalName} (${vendor.vendorId})? Screening match: ${matches}`,
            approvers: policy.complianceReviewers,
            timing: policy.approval,
          });
          if (review.outcome === 'rejected') {
            await acts.blockVendor({ runId, vendorId: vendor.vendorId, reason: review.decision.comment ?? 'sanctions match' });
            progress.blocked.push(vendor.vendorId);
          }
          await tracker.enterStep('rescreening');
        }
        progress.screened += 1;
        progress.after = vendor.vendorId;
      }
      if (page.nextAfter) {
        // The policy and the tally travel on; the run's record, its links and its audit stay with the run id.
        await condition(allHandlersFinished);
        await continueAsNew<typeof supplierRescreeningWorkflow>({ input: args.input, policy, policyStamp: stamp, startedBy: args.startedBy, settings: args.settings, progress });
      }
      const { screened, hits, blocked } = progress;
      await tracker.close('completed', `${screened} screened, ${hits} matches, ${blocked.length} blocked`);
      await acts.notifyRequester({
        runId,
        outcome: 'approved',
        facts: [
          { label: 'Vendors screened', value: String(screened) },
          { label: 'Matches', value: String(hits) },
          { label: 'Blocked', value: blocked.join(', ') || 'none' },
        ],
      });
      return { screened, hits, blocked };
    },
    revokeLinksAndTellRequester(desk, tracker),
  );
  await condition(allHandlersFinished);
  return result;
}
