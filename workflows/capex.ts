import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { PurchaseOrder } from '../activities/erp.js';
import type { Activities } from '../activities/index.js';
import type { CapexInput, CapexPolicy } from '../processes/capex.js';
import { capexApprovalChain, capexRun, purchaseOrderCreatedEntry } from '../processes/capex-flow.js';
import type { RunArgs } from '../processes/types.js';
import type { DecisionResult } from './approval.js';
import { openRun, revokeLinksAndTellRequester, runApprovalChain } from './approval-chain.js';
import { hasPatch, PURCHASE_ORDER_RECORDS_WITH_CLOSE, RUN_CLOSED_WITH_NOTICE } from './patches.js';
import { trackRun, type CarriedRecords } from './run-lifecycle.js';

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
      const chainFor = (current: CapexInput) => capexApprovalChain(current, policy);
      const chain = await runApprovalChain({ desk, tracker, policy, summarize: capexRun.summarize }, args.input, chainFor, { recordsFollow: true });
      if (chain.outcome !== 'approved') return { outcome: chain.outcome, approvals: chain.approvals };
      const { input, approvals } = chain;
      const order = {
        runId: tracker.runId,
        reference: tracker.runId,
        vendor: input.vendor,
        description: input.title,
        amount: input.amount,
        currency: input.currency,
        costCenter: input.costCenter,
        category: input.category,
        requestedBy: input.requester.email,
      };

      // The order follows from the last decisions: their records and the step are written before its audit entry,
      // which goes with the run's close (RUN_CLOSED_WITH_NOTICE). The order's activity writes them first; since
      // PURCHASE_ORDER_RECORDS_WITH_CLOSE the close does, and the order's activity only from its second attempt.
      // Runs begun before do each on its own.
      const recordsWithClose = hasPatch(PURCHASE_ORDER_RECORDS_WITH_CLOSE);
      const closesWithNotice = recordsWithClose || hasPatch(RUN_CLOSED_WITH_NOTICE);
      let po: PurchaseOrder;
      let carried: CarriedRecords | undefined;
      if (closesWithNotice) {
        tracker.markStep('purchase-order');
        carried = desk.carryRecords();
        const recording = recordsWithClose ? { recordsFollowWithClose: true } : {};
        po = await erp.createPurchaseOrder({ ...order, currentStep: 'purchase-order', precededBy: carried.records, auditedWithClose: true, ...recording });
        if (!recordsWithClose) carried.written();
      } else {
        await tracker.enterStep('purchase-order');
        po = await erp.createPurchaseOrder(order);
      }
      await tracker.closeAndTell('completed', 'approved', {
        notice: { outcome: 'approved', facts: [{ label: 'Purchase order', value: po.poNumber }] },
        ...(closesWithNotice ? { audits: [purchaseOrderCreatedEntry(tracker.runId, po)] } : {}),
        ...(recordsWithClose ? { carried } : {}),
      });
      return { outcome: 'approved', poNumber: po.poNumber, approvals };
    },
    revokeLinksAndTellRequester(desk, tracker),
  );
  // A decision's handler may still be recording its audit entry; let it finish before the run closes.
  await condition(allHandlersFinished);
  return result;
}
