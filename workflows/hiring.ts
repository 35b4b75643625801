import { ActivityFailure, allHandlersFinished, CancellationScope, condition, proxyActivities, TimeoutFailure } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { durationMs } from '../processes/duration.js';
import { eventKind, type InboundEventMessage } from '../processes/event-messages.js';
import type { AcceptedOffer, HiringInput, HiringPolicy } from '../processes/hiring.js';
import { acceptedOfferProblems, hiringApprovalChain, hiringRun, PREPARATION_STEP, preparationFacts, preparationTaskSpecs } from '../processes/hiring-flow.js';
import type { RunArgs } from '../processes/types.js';
import { openRun, revokeLinksAndTellRequester, runApprovalChain } from './approval-chain.js';
import { EventInbox } from './event-inbox.js';
import { trackRun } from './run-lifecycle.js';
import { TaskDesk } from './tasks.js';
import { decidePatchBaseline, hasPatch, PREPARATION_TASKS } from './patches.js';

const OFFER_ACCEPTED = eventKind('ats', 'offer.accepted');
const OFFER_WITHDRAWN = eventKind('ats', 'offer.withdrawn');

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** External systems: retried for up to an hour (429 and 5xx); their 4xx answers are not retried. */
const systems = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m' },
});

export interface HiringResult {
  outcome: 'hired' | 'rejected' | 'expired' | 'withdrawn' | 'declined';
  requisitionId?: string;
  employeeId?: string;
  undone?: string[];
}

function isoDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}


/**
 * A hire from requisition to provisioned employee. Everything done after the offer is accepted is recorded as an
 * undo step; a withdrawal (or cancelling the run) undoes it in reverse order and audits what was undone.
 */
export async function hiringWorkflow(args: RunArgs<HiringInput, HiringPolicy>): Promise<HiringResult> {
  decidePatchBaseline();
  const withPreparationTasks = hasPatch(PREPARATION_TASKS);
  const inbox = new EventInbox();
  const { tracker, desk, policy: settings } = await openRun(hiringRun, args);
  const runId = tracker.runId;
  // Preparation is work, not a control: the requester (often the hiring manager) does their own checklist.
  const tasks = new TaskDesk({ runId, requesterEmail: args.input.requester.email, startedBy: args.startedBy, keepRequesterOut: false });
  /** Each step is undone with the reason the hire is called off. */
  const undo: Array<{ what: string; run: (reason: string) => Promise<void> }> = [];
  let withdrawal: InboundEventMessage | undefined;

  /**
   * Does something that will need undoing. It runs to the end even if the run is cancelled meanwhile, so its
   * result (the id to undo) is never lost; the cancellation lands at the next wait.
   */
  async function doUndoably<T>(work: () => Promise<T>, undoFor: (result: T) => { what: string; run: () => Promise<void> }): Promise<T> {
    const result = await CancellationScope.nonCancellable(work);
    undo.push(undoFor(result));
    return result;
  }

  async function compensate(reason: string): Promise<string[]> {
    const undone: string[] = [];
    for (const step of [...undo].reverse()) {
      await step.run(reason);
      undone.push(step.what);
    }
    undo.length = 0;
    await acts.appendAudit({ eventKey: `${runId}:hire.undone`, runId, action: 'hire.undone', actor: 'opsflow', step: 'compensation', details: { reason, undone } });
    return undone;
  }

  async function withdrawn(offer: AcceptedOffer): Promise<HiringResult> {
    const reason = String(withdrawal?.data.reason ?? `${offer.name} withdrew`);
    await tracker.enterStep('compensation');
    const undone = await compensate(reason);
    await tasks.closeAll(`the hire was withdrawn: ${reason}`);
    await tracker.closeAndTell('cancelled', 'withdrawn', { reason: `Hire withdrawn: ${reason}`, notice: { outcome: 'cancelled', reason: `Hire withdrawn: ${reason}`, facts: undone.map((what) => ({ label: 'Undone', value: what })) } });
    return { outcome: 'withdrawn', undone };
  }

  const result = await trackRun(
    tracker,
    async (): Promise<HiringResult> => {
      await tracker.enterStep('headcount-check');
      const facts = await systems.checkHeadcount({ runId, department: args.input.department, level: args.input.level, salaryMax: args.input.salaryRange.max });
      const chain = await runApprovalChain({ desk, tracker, policy: settings, summarize: hiringRun.summarize }, args.input, (input) =>
        hiringApprovalChain(input, facts, settings),
      );
      if (chain.outcome !== 'approved') return { outcome: chain.outcome };
      const input = chain.input;

      await tracker.enterStep('open-requisition');
      const deadline = input.closesOn ? Date.parse(`${input.closesOn}T23:59:59Z`) : Date.now() + durationMs(settings.offerTimeout);
      const closesOn = input.closesOn ?? isoDate(deadline);
      const { requisitionId } = await doUndoably(
        () => systems.openRequisition({ runId, input, closesOn }),
        (opened) => ({ what: `requisition ${opened.requisitionId} closed`, run: () => systems.closeRequisition({ runId, requisitionId: opened.requisitionId, reason: 'cancelled' }) }),
      );

      inbox.acceptChecked(OFFER_ACCEPTED, acceptedOfferProblems);
      await tracker.enterStep('awaiting-offer');
      const accepted = await inbox.next([OFFER_ACCEPTED], Math.max(1, deadline - Date.now()));
      inbox.stopAccepting(OFFER_ACCEPTED);
      // From here the requisition is closed one way or the other, not undone.
      undo.length = 0;
      if (!accepted) {
        await systems.closeRequisition({ runId, requisitionId, reason: 'expired' });
        const reason = `No offer was accepted by ${closesOn}; the requisition is closed`;
        await tracker.closeAndTell('expired', 'expired', { reason, notice: { outcome: 'expired', reason } });
        return { outcome: 'expired', requisitionId };
      }
      // Checked by the inbox's validator before it was accepted.
      const offer = accepted.data as unknown as AcceptedOffer;
      inbox.accept(OFFER_WITHDRAWN);
      // Watched in the background; cancelling the run rejects this wait, which is not a withdrawal.
      void inbox.next([OFFER_WITHDRAWN]).then(
        (event) => {
          withdrawal = event;
        },
        () => undefined,
      );
      await systems.closeRequisition({ runId, requisitionId, reason: 'filled' });

      await tracker.enterStep('offer-signature', offer.email);
      const { envelopeId } = await doUndoably(
        () => systems.sendOfferLetter({ runId, input, offer }),
        (sent) => ({ what: `offer letter ${sent.envelopeId} voided`, run: () => systems.voidOfferLetter({ runId, envelopeId: sent.envelopeId, reason: 'hire withdrawn' }) }),
      );
      const signature = await waitForSignature(runId, envelopeId, settings, () => withdrawal !== undefined);
      if (withdrawal) return withdrawn(offer);
      if (signature !== 'signed') {
        const reason = signature === 'expired' ? `The offer letter was not signed within ${settings.signatureTimeout}` : `${offer.name} declined the offer letter`;
        await compensate(reason);
        await tracker.closeAndTell(signature === 'expired' ? 'expired' : 'rejected', signature === 'expired' ? 'expired' : 'declined', { reason, notice: { outcome: signature === 'expired' ? 'expired' : 'rejected', reason } });
        return { outcome: signature === 'expired' ? 'expired' : 'declined', requisitionId };
      }

      await tracker.enterStep('create-employee');
      const employee = await doUndoably(
        () => systems.createEmployee({ runId, input, offer }),
        (created) => ({ what: `HRIS record ${created.employeeId} marked withdrawn`, run: () => systems.withdrawEmployee({ runId, employeeId: created.employeeId, reason: 'hire withdrawn' }) }),
      );
      if (withdrawal) return withdrawn(offer);

      await tracker.enterStep('provisioning');
      const [, order] = await Promise.all([
        doUndoably(
          () => systems.createAccount({ runId, employeeId: employee.employeeId, name: offer.name, workEmail: employee.workEmail, systems: settings.systems }),
          ({ accountId }) => ({ what: `account ${accountId} deactivated`, run: () => systems.deactivateAccount({ runId, accountId }) }),
        ),
        doUndoably(
          () => systems.orderEquipment({ runId, employeeId: employee.employeeId, input, offer }),
          ({ orderId }) => ({ what: `equipment order ${orderId} cancelled`, run: () => systems.cancelEquipmentOrder({ runId, orderId }) }),
        ),
      ]);
      if (withdrawal) return withdrawn(offer);
      await acts.sendWelcomeMails({ runId, input, offer, workEmail: employee.workEmail, employeeId: employee.employeeId, ...(withPreparationTasks ? { checklistAsTask: true } : {}) });

      let prepared: string[] = [];
      if (withPreparationTasks) {
        await tracker.enterStep(PREPARATION_STEP);
        const hire = { input, offer, employeeId: employee.employeeId, workEmail: employee.workEmail, equipmentOrderId: order.orderId, systems: settings.systems };
        prepared = await Promise.all(
          preparationTaskSpecs(hire, settings.preparation, Date.now()).map((spec) => tasks.open({ ...spec, stepId: PREPARATION_STEP, timing: settings.preparation })),
        );
        const ids = prepared;
        undo.push({ what: 'preparation tasks closed; whoever did or held one told to undo it', run: (reason) => tasks.recall(ids, `the hire of ${offer.name} was called off (${reason})`) });
        // Overdue tasks are chased and escalated meanwhile; a withdrawal ends the wait.
        await tasks.waitForAll(prepared, undefined, () => withdrawal !== undefined);
        if (withdrawal) return withdrawn(offer);
      }

      // Until the first day a withdrawal still undoes the hire.
      await tracker.enterStep('awaiting-start-date');
      await condition(() => withdrawal !== undefined, Math.max(1, Date.parse(`${offer.startDate}T00:00:00Z`) - Date.now()));
      if (withdrawal) return withdrawn(offer);
      inbox.stopAccepting(OFFER_WITHDRAWN);
      await tasks.closeAll('the run ended');
      await tracker.closeAndTell('completed', 'hired', {
        notice: {
          outcome: 'approved',
          facts: [
            { label: 'New hire', value: `${offer.name}, starting ${offer.startDate}` },
            { label: 'Employee id', value: employee.employeeId },
            ...preparationFacts(tasks.outcomes(prepared)),
          ],
        },
      });
      return { outcome: 'hired', requisitionId, employeeId: employee.employeeId };
    },
    async (status, reason) => {
      await revokeLinksAndTellRequester(desk, tracker)(status, reason);
      if (undo.length) await compensate(`the run was ${status}: ${reason}`);
      // Tasks opened while the run was cancelled, before their undo step was recorded.
      await tasks.closeAll(`the run was ${status}`);
    },
  );
  await condition(allHandlersFinished);
  return result;
}

/** Signed, declined or voided as the provider says; 'expired' when the signature timeout ran out; undefined if withdrawn. */
async function waitForSignature(runId: string, envelopeId: string, settings: HiringPolicy, isWithdrawn: () => boolean) {
  const signing = proxyActivities<Activities>({
    startToCloseTimeout: settings.signatureTimeout,
    scheduleToCloseTimeout: settings.signatureTimeout,
    heartbeatTimeout: '2m',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m' },
  });
  const scope = new CancellationScope();
  let outcome: 'signed' | 'declined' | 'voided' | 'expired' | undefined;
  let failure: unknown;
  void scope
    .run(() => signing.awaitSignature({ runId, envelopeId, pollIntervalMs: durationMs(settings.signaturePollInterval) }))
    .then(
      (status) => {
        outcome = status === 'sent' ? undefined : status;
      },
      (error: unknown) => {
        if (error instanceof ActivityFailure && error.cause instanceof TimeoutFailure) outcome = 'expired';
        else failure = error;
      },
    );
  await condition(() => outcome !== undefined || failure !== undefined || isWithdrawn());
  if (outcome) return outcome;
  if (failure) throw failure;
  scope.cancel();
  return undefined;
}
