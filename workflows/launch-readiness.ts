import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { LaunchReadinessInput, LaunchReadinessPolicy } from '../processes/launch-readiness.js';
import {
  checkDates,
  CHECKS_STEP,
  cutoffOf,
  GO_NO_GO_STEP,
  launchReadinessRun,
  readinessCheckKeys,
  readinessChecks,
  readinessSummary,
} from '../processes/launch-readiness-flow.js';
import type { RunArgs } from '../processes/types.js';
import type { DecisionResult } from './approval.js';
import { openRun, revokeLinksAndTellRequester } from './approval-chain.js';
import { trackRun } from './run-lifecycle.js';
import { TaskDesk } from './tasks.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export interface LaunchReadinessResult {
  outcome: 'go' | 'no-go' | 'expired';
  /** The checks still open when the COO was asked. */
  openAtCutoff: string[];
  decision?: DecisionResult;
}

/**
 * A launch's readiness: each department's check is a task for its group, all in parallel; when all are done, or at
 * the cut-off, what they came to (open items included) goes into the run's facts and the COO decides go/no-go.
 */
export async function launchReadinessWorkflow(args: RunArgs<LaunchReadinessInput, LaunchReadinessPolicy>): Promise<LaunchReadinessResult> {
  const { tracker, desk, policy } = await openRun(launchReadinessRun, args);
  const runId = tracker.runId;
  const tasks = new TaskDesk({ runId, requesterEmail: args.input.requester.email, startedBy: args.startedBy, keepRequesterOut: !policy.tasks.requesterMayComplete });

  const result = await trackRun(
    tracker,
    async (): Promise<LaunchReadinessResult> => {
      await tracker.enterStep(CHECKS_STEP);
      const cutoff = cutoffOf(args.input, policy);
      const dates = checkDates(cutoff, policy, Date.now());
      const ids = await Promise.all(
        readinessCheckKeys.map((key) =>
          tasks.open({
            key,
            stepId: CHECKS_STEP,
            title: `${readinessChecks[key].title}: ${args.input.title}`,
            instructions: readinessChecks[key].instructions,
            // A check the policy gives to one person goes to them; otherwise its group claims it.
            ...(policy.checks[key].assignee ? { assignee: policy.checks[key].assignee } : { candidateGroup: policy.checks[key].candidateGroup }),
            ...dates,
            timing: policy.tasks,
          }),
        ),
      );
      const open = await tasks.waitForAll(ids, cutoff);
      const openTitles = tasks.outcomes(open).map((task) => task.title);
      // The COO decides on a fixed picture: what is still open now is closed and shown as open.
      await tasks.close(open, 'the go/no-go cut-off passed before it was done: the COO decides with it open');
      const readiness = readinessSummary(tasks.outcomes(ids), Date.now());
      await acts.recordTaskSummary({ runId, stepId: GO_NO_GO_STEP, field: 'readiness', summary: readiness });
      desk.useInput({ ...args.input, readiness });

      const decision = await desk.step({ stepId: GO_NO_GO_STEP, title: 'Go/no-go decision', approvers: policy.goNoGo.approvers, timing: policy.goNoGo.timing });
      await tasks.closeAll('the run ended');
      const facts = [{ label: 'Open at the cut-off', value: openTitles.join(', ') || 'none' }];
      if (decision.outcome === 'approved') {
        await tracker.closeAndTell('completed', 'go', { notice: { outcome: 'approved', facts } });
        return { outcome: 'go', openAtCutoff: openTitles, decision: decision.decisions.at(-1) };
      }
      if (decision.outcome === 'expired') {
        await tracker.closeAndTell('expired', 'expired', { reason: decision.reason, notice: { outcome: 'expired', reason: decision.reason, facts } });
        return { outcome: 'expired', openAtCutoff: openTitles };
      }
      // Changes requested count as no-go: the launch is not cleared, and the comment says what must change.
      const reason = decision.decision.comment ?? 'no-go';
      await tracker.closeAndTell('rejected', 'no-go', { reason, notice: { outcome: 'rejected', reason, decidedBy: `${decision.approver.name} (go/no-go)`, facts } });
      return { outcome: 'no-go', openAtCutoff: openTitles, decision: decision.decision };
    },
    async (status, reason) => {
      await tasks.closeAll(`the run was ${status}`);
      await revokeLinksAndTellRequester(desk, tracker)(status, reason);
    },
  );
  await condition(allHandlersFinished);
  return result;
}
