import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { capexApprovalChain, type CapexInput, type CapexSettings } from '../processes/capex.js';
import type { RunArgs } from '../processes/types.js';
import { ApprovalDesk, type DecisionResult } from './approval.js';
import { RunTracker, trackRun } from './run-lifecycle.js';

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
 * Capex sign-off: the approval chain grows with the amount; a rejection or an expired step ends the run; full
 * approval raises one purchase order in the ERP and tells the requester.
 */
export async function capexWorkflow({ input, settings }: RunArgs<CapexInput, CapexSettings>): Promise<CapexResult> {
  const tracker = new RunTracker();
  const desk = new ApprovalDesk(
    { runId: tracker.runId, requesterEmail: input.requester.email },
    { onWaiting: (step, approver) => tracker.enterStep(step.stepId, approver.email) },
  );
  const erp = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: settings.purchaseOrderTimeout,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m' },
  });

  const result = await trackRun(
    tracker,
    async (): Promise<CapexResult> => {
      const approvals: DecisionResult[] = [];
      for (const step of capexApprovalChain(input, settings)) {
        const result = await desk.step(step);
        if (result.outcome === 'expired') {
          await tracker.close('expired', 'expired', result.reason);
          await acts.notifyRequester({ runId: tracker.runId, outcome: 'expired', reason: result.reason });
          return { outcome: 'expired', approvals };
        }
        approvals.push(result.decision);
        if (result.outcome === 'rejected') {
          await tracker.close('rejected', 'rejected', result.decision.comment ?? undefined);
          await acts.notifyRequester({
            runId: tracker.runId,
            outcome: 'rejected',
            decidedBy: `${result.approver.name} (${step.title})`,
            reason: result.decision.comment ?? undefined,
          });
          return { outcome: 'rejected', approvals };
        }
      }

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
      await acts.notifyRequester({
        runId: tracker.runId,
        outcome: 'approved',
        facts: [{ label: 'Purchase order', value: po.poNumber }],
      });
      return { outcome: 'approved', poNumber: po.poNumber, approvals };
    },
    async (status, reason) => {
      const open = desk.openRequestIds();
      if (open.length) {
        await acts.revokeApprovalRequests({ requestIds: open, reason: `the run was ${status}`, action: 'approval.revoked' });
      }
      await acts.notifyRequester({ runId: tracker.runId, outcome: status, reason });
    },
  );
  // A decision's handler may still be recording its audit entry; let it finish before the run closes.
  await condition(allHandlersFinished);
  return result;
}
