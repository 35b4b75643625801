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
 * Capex sign-off: the approval chain grows with the amount; a rejection or an expired step ends the run; an
 * approver may send it back for changes, after which it resumes at that step; full approval raises one purchase
 * order in the ERP and tells the requester.
 */
export async function capexWorkflow(args: RunArgs<CapexInput, CapexSettings>): Promise<CapexResult> {
  const { settings } = args;
  let input = args.input;
  const tracker = new RunTracker();
  const desk = new ApprovalDesk(
    { runId: tracker.runId, requesterEmail: input.requester.email },
    { onWaiting: (step, approvers) => tracker.enterStep(step.stepId, approvers[0]?.email) },
  );
  const erp = proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: settings.purchaseOrderTimeout,
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m' },
  });

  async function end(outcome: 'rejected' | 'expired', reason: string, decidedBy?: string): Promise<void> {
    await tracker.close(outcome, outcome, reason);
    await acts.notifyRequester({ runId: tracker.runId, outcome, reason, decidedBy });
  }

  const result = await trackRun(
    tracker,
    async (): Promise<CapexResult> => {
      const approvals: DecisionResult[] = [];
      const approvedSteps = new Set<string>();
      for (;;) {
        // Recomputed after every revision: a changed amount can add or remove steps.
        const step = capexApprovalChain(input, settings).find((s) => !approvedSteps.has(s.stepId));
        if (!step) break;
        const outcome = await desk.step(step);
        if (outcome.outcome === 'expired') {
          await end('expired', outcome.reason);
          return { outcome: 'expired', approvals };
        }
        if (outcome.outcome === 'rejected') {
          approvals.push(outcome.decision);
          await end('rejected', outcome.decision.comment ?? 'rejected', `${outcome.approver.name} (${step.title})`);
          return { outcome: 'rejected', approvals };
        }
        if (outcome.outcome === 'changes_requested') {
          await tracker.enterStep(`${step.stepId}:changes-requested`, input.requester.email);
          const revised = await desk.requestRevision(
            { stepId: step.stepId, stepTitle: step.title, decision: outcome.decision, approver: outcome.approver },
            settings.revisionTimeout,
          );
          if (!revised) {
            await end('expired', `The requester did not resubmit after ${outcome.approver.name} asked for changes`);
            return { outcome: 'expired', approvals };
          }
          input = { ...input, ...(revised as Partial<CapexInput>), requester: input.requester };
          continue;
        }
        approvals.push(...outcome.decisions);
        approvedSteps.add(step.stepId);
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
      await acts.notifyRequester({ runId: tracker.runId, outcome: 'approved', facts: [{ label: 'Purchase order', value: po.poNumber }] });
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
