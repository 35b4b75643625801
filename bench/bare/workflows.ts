import { ApplicationFailure, condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type { BareActivities } from './activities.js';

/**
 * The bare Temporal baseline the benchmarks compare Opsflow with: the same job done with nothing but the SDK. Each
 * approver is mailed, the workflow waits for their decision as an Update (validated: the right approver, once),
 * then the next one is mailed; after the last, one purchase order in the ERP and a mail to the requester.
 */
export interface BareDecision {
  approver: string;
  decision: 'approved' | 'rejected';
}

export interface BareApprovalInput {
  title: string;
  approvers: string[];
  requester: string;
}

export const bareDecideUpdate = defineUpdate<{ step: number; decidedAt: number }, [BareDecision]>('decide');

const acts = proxyActivities<BareActivities>({ startToCloseTimeout: '30s' });

export async function bareApprovalWorkflow(input: BareApprovalInput): Promise<{ outcome: string; poNumber?: string }> {
  const decisions: BareDecision[] = [];
  setHandler(
    bareDecideUpdate,
    (decision) => {
      decisions.push(decision);
      return { step: decisions.length, decidedAt: Date.now() };
    },
    {
      validator: (decision) => {
        if (decision.approver !== input.approvers[decisions.length]) throw ApplicationFailure.nonRetryable('not the current approver');
      },
    },
  );
  for (const [step, approver] of input.approvers.entries()) {
    await acts.sendMail({ to: approver, subject: `${input.title}: approval ${step + 1} of ${input.approvers.length}`, text: `Please decide on ${input.title}` });
    await condition(() => decisions.length > step);
    if (decisions[step]!.decision !== 'approved') {
      await acts.sendMail({ to: input.requester, subject: `${input.title}: rejected`, text: 'Rejected' });
      return { outcome: 'rejected' };
    }
  }
  const { poNumber } = await acts.createPurchaseOrder({ reference: input.title, requestedBy: input.requester });
  await acts.sendMail({ to: input.requester, subject: `${input.title}: approved`, text: `Purchase order ${poNumber}` });
  return { outcome: 'approved', poNumber };
}
