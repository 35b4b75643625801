import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ContractInput, ContractPolicy } from '../processes/contract.js';
import { contractApprovalChain, contractRun } from '../processes/contract-flow.js';
import type { RunArgs } from '../processes/types.js';
import type { DecisionResult } from './approval.js';
import { openRun, revokeLinksAndTellRequester, runApprovalChain } from './approval-chain.js';
import { trackRun } from './run-lifecycle.js';

export interface ContractResult {
  outcome: 'approved' | 'rejected' | 'expired';
  approvals: DecisionResult[];
}

/** Contract sign-off: a parallel review, then a directors' quorum for larger contracts. */
export async function contractWorkflow(args: RunArgs<ContractInput, ContractPolicy>): Promise<ContractResult> {
  const { tracker, desk, policy } = await openRun(contractRun, args);
  const result = await trackRun(
    tracker,
    async (): Promise<ContractResult> => {
      const chainFor = (input: ContractInput) => contractApprovalChain(input, policy);
      const chain = await runApprovalChain({ desk, tracker, policy, summarize: contractRun.summarize }, args.input, chainFor, { recordsFollow: true });
      if (chain.outcome === 'approved') {
        await tracker.closeAndTell('completed', 'approved', { notice: { outcome: 'approved' }, carried: desk.carryRecords() });
      }
      return { outcome: chain.outcome, approvals: chain.approvals };
    },
    revokeLinksAndTellRequester(desk, tracker),
  );
  await condition(allHandlersFinished);
  return result;
}
