import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { supplierRescreeningProcess, type SupplierRescreeningInput, type SupplierRescreeningPolicy } from '../processes/supplier-rescreening.js';
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

/** Every active vendor screened again; each match decided by compliance, a rejected one blocked in the ERP. */
export async function supplierRescreeningWorkflow(args: RunArgs<SupplierRescreeningInput, SupplierRescreeningPolicy>): Promise<RescreeningResult> {
  const { tracker, desk, policy } = await openRun(supplierRescreeningProcess, args);
  const runId = tracker.runId;
  const result = await trackRun(
    tracker,
    async (): Promise<RescreeningResult> => {
      await tracker.enterStep('rescreening');
      const vendors = await acts.activeVendors();
      const blocked: string[] = [];
      let hits = 0;
      for (const vendor of vendors) {
        const check = await acts.screenSupplier({ runId, reference: `${runId}:${vendor.vendorId}`, name: vendor.legalName, country: vendor.country, step: 'rescreening' });
        if (check.status !== 'hit') continue;
        hits += 1;
        const matches = check.matches.map((m) => `${m.list} "${m.name}"`).join(', ');
        const review = await desk.step({
          stepId: `compliance-review:${vendor.vendorId}`,
          title: `Keep ${vendor.legalName} (${vendor.vendorId})? Screening match: ${matches}`,
          approvers: policy.complianceReviewers,
          timing: policy.approval,
        });
        if (review.outcome === 'rejected') {
          await acts.blockVendor({ runId, vendorId: vendor.vendorId, reason: review.decision.comment ?? 'sanctions match' });
          blocked.push(vendor.vendorId);
        }
        await tracker.enterStep('rescreening');
      }
      await tracker.close('completed', `${vendors.length} screened, ${hits} matches, ${blocked.length} blocked`);
      await acts.notifyRequester({
        runId,
        outcome: 'approved',
        facts: [
          { label: 'Vendors screened', value: String(vendors.length) },
          { label: 'Matches', value: String(hits) },
          { label: 'Blocked', value: blocked.join(', ') || 'none' },
        ],
      });
      return { screened: vendors.length, hits, blocked };
    },
    revokeLinksAndTellRequester(desk, tracker),
  );
  await condition(allHandlersFinished);
  return result;
}
