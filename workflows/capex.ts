import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CapexInput, CapexPolicy } from '../processes/capex.js';
import { capexApprovalChain, capexRun } from '../processes/capex-flow.js';
import type { RunArgs } from '../processes/types.js';
import type { DecisionResult } from './approval.js';
import { openRun, revokeLinksAndTellRequester, runApprovalChain } from './approval-chain.js';
import { trackRun } from './run-lifecycle.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export interface CapexResult {
  outcome: 'approved' | 'rejected' | 'expired';
  poNumber?: string;
  approvals: DecisionResult[];
}

/**
 * Capex sign-off: the approval chain grows with the amount; a rejection or an expired step ends the run; an
 * approver may send it back for changes, after which it resumes at that step; full approval raises one purchase
 * order in the ERP and tells the requester.
 */
export async function capexWorkflow(args: RunArgs<CapexInput, CapexPolicy>): Promise<CapexResult> {
  const { tracker, desk, policy } = await openRun(capexRun, args);
  const erp = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: policy.purchaseOrderTimeout,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m' },
  });

  const result = await trackRun(
    tracker,
    async (): Promise<CapexResult> => {
      const chain = await runApprovalChain({ desk, tracker, policy, summarize: capexRun.summarize }, args.input, (current) => capexApprovalChain(current, policy));
      if (chain.outcome !== 'approved') return { outcome: chain.outcome, approvals: chain.approvals };
      const { input, approvals } = chain;

      await tracker.enterStep('purchase-order');
      const po = await erp.createPurchaseOrder({
        runId: tracker.runId,
        reference: tracker.runId,
        vendor: input.vendor,
        description: input.title,
        amount: input.amount,
        currency: input.currency,
        costCenter: input.costCenter,
        category: input.category,
        requestedBy: input.requester.email,
      });
      await tracker.close('completed', 'approved');
      await acts.notifyRequester({ runId: tracker.runId, outcome: 'approved', facts: [{ label: 'Purchase order', value: po.poNumber }] });
      return { outcome: 'approved', poNumber: po.poNumber, approvals };
    },
    revokeLinksAndTellRequester(desk, tracker),
  );
  // A decision's handler may still be recording its audit entry; let it finish before the run closes.
  await condition(allHandlersFinished);
  return result;
}
