import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ApprovalDesk, type ApprovalStepSpec, type DecisionResult } from './approval.js';
import type { RunArgs, RunSummary } from '../processes/types.js';
import { RunTracker } from './run-lifecycle.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/**
 * What every process workflow starts with: its tracker (a scheduled run records itself first) and its approval
 * desk, whose waiting steps show on the run as its current step and approver.
 */
export async function openRun(processKey: string, args: RunArgs<{ requester: { email: string } }, unknown>): Promise<{ tracker: RunTracker; desk: ApprovalDesk }> {
  const tracker = new RunTracker();
  await tracker.recordIfScheduled(processKey, args);
  const desk = new ApprovalDesk(
    { runId: tracker.runId, requesterEmail: args.input.requester.email },
    { onWaiting: (step, approvers) => tracker.enterStep(step.stepId, approvers[0]?.email) },
  );
  return { tracker, desk };
}

export interface ChainResult<Input> {
  outcome: 'approved' | 'rejected' | 'expired';
  /** The input as finally approved: the requester may have edited it when changes were requested. */
  input: Input;
  approvals: DecisionResult[];
}

/**
 * Runs a process's approval steps in order. A rejection or an expired step ends the run (recorded, requester told);
 * "changes requested" sends the requester an edit link and resumes at the step that asked, with the chain
 * recomputed from the edited input (a changed amount can add or remove steps).
 */
export async function runApprovalChain<Input extends { requester: { email: string } }>(
  context: { desk: ApprovalDesk; tracker: RunTracker; revisionTimeout: string; summarize: (input: Input) => RunSummary },
  initialInput: Input,
  chainFor: (input: Input) => ApprovalStepSpec[],
): Promise<ChainResult<Input>> {
  const { desk, tracker } = context;
  let input = initialInput;
  const approvals: DecisionResult[] = [];
  const approvedSteps = new Set<string>();

  const end = async (outcome: 'rejected' | 'expired', reason: string, decidedBy?: string) => {
    await tracker.close(outcome, outcome, reason);
    await acts.notifyRequester({ runId: tracker.runId, outcome, reason, decidedBy });
    return { outcome, input, approvals };
  };

  for (;;) {
    const step = chainFor(input).find((s) => !approvedSteps.has(s.stepId));
    if (!step) return { outcome: 'approved', input, approvals };
    const result = await desk.step(step);
    switch (result.outcome) {
      case 'expired':
        return end('expired', result.reason);
      case 'rejected':
        approvals.push(result.decision);
        return end('rejected', result.decision.comment ?? 'rejected', `${result.approver.name} (${step.title})`);
      case 'changes_requested': {
        await tracker.enterStep(`${step.stepId}:changes-requested`, input.requester.email);
        const revised = await desk.requestRevision(
          { stepId: step.stepId, stepTitle: step.title, decision: result.decision, approver: result.approver },
          context.revisionTimeout,
        );
        if (!revised) return end('expired', `The requester did not resubmit after ${result.approver.name} asked for changes`);
        // The requester cannot be changed by an edit.
        input = { ...input, ...(revised as Partial<Input>), requester: input.requester };
        tracker.recordFacts(context.summarize(input));
        break;
      }
      case 'approved':
        approvals.push(...result.decisions);
        approvedSteps.add(step.stepId);
    }
  }
}

/** What every process does when its run is cancelled or fails: links stop working, the requester is told. */
export function revokeLinksAndTellRequester(desk: ApprovalDesk, tracker: RunTracker) {
  return async (status: 'cancelled' | 'failed', reason: string): Promise<void> => {
    const open = desk.openRequestIds();
    if (open.length) {
      await acts.revokeApprovalRequests({ requestIds: open, reason: `the run was ${status}`, action: 'approval.revoked' });
    }
    await acts.notifyRequester({ runId: tracker.runId, outcome: status, reason });
  };
}
