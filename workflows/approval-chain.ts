import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { materialChangesBetween, type ControlsPolicy, type PolicyStamp } from '../processes/controls.js';
import type { ProcessDefinition, RunArgs, RunSummary } from '../processes/types.js';
import { ApprovalDesk, type ApprovalStepSpec, type DecisionResult } from './approval.js';
import { decidePatchBaseline, hasPatch, RUN_CLOSED_WITH_NOTICE } from './patches.js';
import { RunTracker } from './run-lifecycle.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** What every policy has: the controls the desk enforces. */
export type RunPolicyBase = ControlsPolicy;

export interface OpenedRun<Policy> {
  tracker: RunTracker;
  desk: ApprovalDesk;
  /** The policy this run keeps to the end, whatever happens to the stored policy meanwhile. */
  policy: Policy;
  stamp: PolicyStamp;
}

/**
 * What every process workflow starts with: its tracker (a scheduled run records itself first, resolving the policy
 * in force when it starts) and its approval desk, which enforces the policy's separation of duties and binds every
 * decision to the facts shown; waiting steps show on the run as its current step and approver.
 */
export async function openRun<Input extends { requester: { email: string } }, Policy extends RunPolicyBase>(
  process: Pick<ProcessDefinition<Input, Policy>, 'key' | 'describe' | 'summarize'>,
  args: RunArgs<Input, Policy>,
): Promise<OpenedRun<Policy>> {
  // The patch baseline is decided in the run's first workflow task, before anything awaits (workflows/patches.ts).
  decidePatchBaseline();
  const tracker = new RunTracker();
  let policy = args.policy;
  let stamp = args.policyStamp ?? { version: 1, overridden: false };
  if (args.trigger?.kind === 'schedule') {
    const resolved = await acts.recordScheduledRun({
      runId: tracker.runId,
      processKey: process.key,
      input: args.input,
      settings: args.settings,
      startedBy: args.startedBy,
      scheduleId: args.trigger.scheduleId,
    });
    policy = resolved.policy as unknown as Policy;
    stamp = resolved.stamp;
  }
  if (!policy) throw new TypeError(`Run ${tracker.runId} was started without a policy`);
  log.info('run started', { trigger: args.trigger?.kind ?? 'api', policyVersion: stamp.version });
  const desk = new ApprovalDesk(
    {
      runId: tracker.runId,
      requesterEmail: args.input.requester.email,
      startedBy: args.startedBy,
      policyVersion: stamp.version,
      separationOfDuties: policy.separationOfDuties,
      factsOf: (input) => process.describe(input as Input),
      amountOf: (input) => process.summarize(input as Input).amount,
      input: args.input,
    },
    {
      onWaiting: (step, approvers) => tracker.enterStep(step.stepId, approvers[0]?.email),
      markWaiting: (step, approvers) => tracker.markStep(step.stepId, approvers[0]?.email),
    },
  );
  return { tracker, desk, policy, stamp };
}

export interface ChainResult<Input> {
  outcome: 'approved' | 'rejected' | 'expired';
  /** The input as finally approved: the requester may have edited it when changes were requested. */
  input: Input;
  approvals: DecisionResult[];
}

export interface ChainOptions {
  /**
   * The caller's next activity writes the last decisions' records first (ApprovalDesk.carryRecords), so an approved
   * chain returns without writing them (RUN_CLOSED_WITH_NOTICE; runs begun before write them here).
   */
  recordsFollow?: boolean;
}

export interface ChainContext<Input> {
  desk: ApprovalDesk;
  tracker: RunTracker;
  policy: RunPolicyBase & { revisionTimeout: string };
  summarize: (input: Input) => RunSummary;
}

/**
 * Runs a process's approval steps in order. A rejection or an expired step ends the run (recorded, requester told);
 * "changes requested" sends the requester an edit link and resumes at the first step still to approve, with the
 * chain recomputed from the edited input (a changed amount can add or remove steps). An edit that changes a
 * material field (policy.materialChanges) asks again every step approved before it; other edits keep them.
 */
export async function runApprovalChain<Input extends { requester: { email: string } }>(
  context: ChainContext<Input>,
  initialInput: Input,
  chainFor: (input: Input) => ApprovalStepSpec[],
  options: ChainOptions = {},
): Promise<ChainResult<Input>> {
  const { desk, tracker, policy } = context;
  let input = initialInput;
  desk.useInput(input);
  let rejected: DecisionResult | undefined;
  /** Each approved step, with the input it approved: an edit is material relative to what each approver saw. */
  const approved = new Map<string, { input: Input; decisions: DecisionResult[] }>();
  /** Steps asked again after a material edit, with the fields that made them so. */
  const askAgain = new Map<string, string[]>();
  const approvals = () => [...approved.values()].flatMap((step) => step.decisions).concat(rejected ? [rejected] : []);

  const end = async (outcome: 'rejected' | 'expired', reason: string, decidedBy?: string) => {
    // The close carries the records (RUN_CLOSED_WITH_NOTICE); before, they were written first.
    if (!hasPatch(RUN_CLOSED_WITH_NOTICE) && desk.hasUnsettledRecords()) await desk.settleRecords();
    await tracker.closeAndTell(outcome, outcome, { reason, notice: { outcome, reason, decidedBy }, carried: desk.carryRecords() });
    return { outcome, input, approvals: approvals() };
  };

  for (;;) {
    const step = chainFor(input).find((s) => !approved.has(s.stepId));
    if (!step) {
      // What follows the chain (a purchase order, the run's close) is audited after its last decisions: the caller
      // carries them into it (recordsFollow, RUN_CLOSED_WITH_NOTICE), or they are written here first.
      const carriedByCaller = options.recordsFollow === true && hasPatch(RUN_CLOSED_WITH_NOTICE);
      if (!carriedByCaller && desk.hasUnsettledRecords()) await desk.settleRecords();
      return { outcome: 'approved', input, approvals: approvals() };
    }
    const changed = askAgain.get(step.stepId);
    // A step's records are written by the next step's requests, or settled here before anything else is audited.
    const result = await desk.step(step, { ...(changed ? { reapproval: { changed } } : {}), recordsFollow: true });
    switch (result.outcome) {
      case 'expired':
        return end('expired', result.reason);
      case 'rejected':
        rejected = result.decision;
        return end('rejected', result.decision.comment ?? 'rejected', `${result.approver.name} (${step.title})`);
      case 'changes_requested': {
        if (desk.hasUnsettledRecords()) await desk.settleRecords();
        await tracker.enterStep(`${step.stepId}:changes-requested`, input.requester.email);
        const revised = await desk.requestRevision(
          { stepId: step.stepId, stepTitle: step.title, decision: result.decision, approver: result.approver },
          policy.revisionTimeout,
        );
        if (!revised) return end('expired', `The requester did not resubmit after ${result.approver.name} asked for changes`);
        // The requester cannot be changed by an edit.
        input = { ...input, ...(revised as Partial<Input>), requester: input.requester };
        desk.useInput(input);
        tracker.recordFacts(context.summarize(input));
        for (const [stepId, earlier] of approved) {
          const material = materialChangesBetween(policy.materialChanges, earlier.input, input);
          if (material.length === 0) continue;
          approved.delete(stepId);
          askAgain.set(stepId, material);
        }
        break;
      }
      case 'approved':
        approved.set(step.stepId, { input, decisions: result.decisions });
        askAgain.delete(step.stepId);
    }
  }
}

/** What every process does when its run is cancelled or fails: links stop working, the requester is told. */
export function revokeLinksAndTellRequester(desk: ApprovalDesk, tracker: RunTracker) {
  return async (status: 'cancelled' | 'failed', reason: string): Promise<void> => {
    await desk.settleRecords();
    const open = desk.openRequestIds();
    if (open.length) {
      await acts.revokeApprovalRequests({ requestIds: open, reason: `the run was ${status}`, action: 'approval.revoked' });
    }
    await acts.notifyRequester({ runId: tracker.runId, outcome: status, reason });
  };
}
