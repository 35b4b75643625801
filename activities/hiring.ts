import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AcceptedOffer, HeadcountFacts, HiringInput } from '../processes/hiring.js';
import { equipmentFor } from '../processes/hiring.js';
import { formatMoney } from '../processes/shared.js';
import type { ActivityDeps } from './deps.js';
import { noticeEmail } from './email-templates.js';
import { sendEmailOnce } from './email.js';
import type { Envelope } from './esign.js';
import { writeAudit } from './records.js';
import { FailureType } from '../processes/failures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The calls a hire makes to the HRIS, ATS, e-signature and IT, each audited on the run and keyed by run id. */
export function createHiringActivities(deps: ActivityDeps) {
  const audit = (runId: string, key: string, action: string, step: string, details: Record<string, unknown>) =>
    writeAudit(deps, { eventKey: `${runId}:${key}`, runId, action, actor: 'opsflow', step, details });

  return {
    async checkHeadcount(request: { runId: string; department: string; level: string; salaryMax: number }): Promise<HeadcountFacts> {
      const [plan, band] = await Promise.all([deps.hris.headcountPlan(request.department), deps.hris.salaryBand(request.level)]);
      const facts: HeadcountFacts = { overPlan: plan.available <= 0, aboveBand: request.salaryMax > band.max, available: plan.available, band };
      await audit(request.runId, 'hris:headcount', 'hris.headcount_checked', 'headcount-check', { ...facts, approved: plan.approved, filled: plan.filled });
      return facts;
    },

    async openRequisition(request: { runId: string; input: HiringInput; closesOn: string }): Promise<{ requisitionId: string }> {
      const { input } = request;
      const requisition = await deps.ats.openRequisition(
        {
          reference: request.runId,
          title: input.role,
          department: input.department,
          level: input.level,
          location: input.location,
          salaryMin: input.salaryRange.min,
          salaryMax: input.salaryRange.max,
          currency: input.salaryRange.currency,
          hiringManagerEmail: input.hiringManager.email,
          closesOn: request.closesOn,
        },
        `${request.runId}:requisition`,
      );
      await audit(request.runId, 'ats:requisition', 'ats.requisition_opened', 'open-requisition', { requisitionId: requisition.requisitionId, closesOn: request.closesOn });
      return { requisitionId: requisition.requisitionId };
    },

    async closeRequisition(request: { runId: string; requisitionId: string; reason: 'filled' | 'expired' | 'cancelled' }): Promise<void> {
      await deps.ats.closeRequisition(request.requisitionId, request.reason);
      await audit(request.runId, `ats:requisition:closed`, 'ats.requisition_closed', 'close-requisition', { requisitionId: request.requisitionId, reason: request.reason });
    },

    /** The provider hosts the signing page; the new hire gets its link from us. */
    async sendOfferLetter(request: { runId: string; input: HiringInput; offer: AcceptedOffer }): Promise<{ envelopeId: string }> {
      const { input, offer } = request;
      const envelope = await deps.esign.sendEnvelope(
        {
          reference: request.runId,
          documentName: `Offer letter: ${input.role}`,
          signer: { name: offer.name, email: offer.email },
          fields: { role: input.role, level: input.level, department: input.department, startDate: offer.startDate, salary: offer.salary, currency: offer.currency },
        },
        `${request.runId}:offer-letter`,
      );
      await sendEmailOnce(deps, {
        idempotencyKey: `${request.runId}:offer-letter`,
        runId: request.runId,
        kind: 'hiring.offer_letter',
        to: offer.email,
        email: noticeEmail({
          subject: `Your offer letter: ${input.role}`,
          greeting: `Hello ${offer.name}`,
          paragraphs: [`Congratulations! Your offer letter for ${input.role} is ready to sign.`],
          details: [
            { label: 'Start date', value: offer.startDate },
            { label: 'Salary', value: formatMoney(offer.salary, offer.currency) },
          ],
          link: { url: envelope.signingUrl, label: 'Review and sign' },
        }),
      });
      await audit(request.runId, 'esign:offer-letter', 'esign.envelope_sent', 'offer-signature', { envelopeId: envelope.envelopeId, signer: offer.email });
      return { envelopeId: envelope.envelopeId };
    },

    /**
     * Polls the provider until the letter is signed, declined or voided, heartbeating so a dead worker is noticed
     * within the heartbeat timeout and a cancelled run stops the polling.
     */
    async awaitSignature(request: { runId: string; envelopeId: string; pollIntervalMs: number }): Promise<Envelope['status']> {
      const context = Context.current();
      for (;;) {
        const envelope = await deps.esign.envelope(request.envelopeId);
        if (envelope.status !== 'sent') {
          await audit(request.runId, `esign:${envelope.status}`, `esign.envelope_${envelope.status}`, 'offer-signature', { envelopeId: envelope.envelopeId, signedAt: envelope.signedAt });
          return envelope.status;
        }
        context.heartbeat({ polledAt: new Date().toISOString() });
        await Promise.race([sleep(request.pollIntervalMs), context.cancelled]);
      }
    },

    async voidOfferLetter(request: { runId: string; envelopeId: string; reason: string }): Promise<void> {
      await deps.esign.voidEnvelope(request.envelopeId, request.reason);
      await audit(request.runId, 'undo:esign', 'compensation.offer_letter_voided', 'compensation', { envelopeId: request.envelopeId, reason: request.reason });
    },

    async createEmployee(request: { runId: string; input: HiringInput; offer: AcceptedOffer }): Promise<{ employeeId: string; workEmail: string }> {
      const { input, offer } = request;
      const employee = await deps.hris.createEmployee(
        {
          reference: request.runId,
          name: offer.name,
          personalEmail: offer.email,
          jobTitle: input.role,
          department: input.department,
          level: input.level,
          location: input.location,
          startDate: offer.startDate,
          managerEmail: input.hiringManager.email,
          salary: offer.salary,
          currency: offer.currency,
        },
        `${request.runId}:employee`,
      );
      await audit(request.runId, 'hris:employee', 'hris.employee_created', 'create-employee', { employeeId: employee.employeeId, workEmail: employee.workEmail });
      return { employeeId: employee.employeeId, workEmail: employee.workEmail };
    },

    async withdrawEmployee(request: { runId: string; employeeId: string; reason: string }): Promise<void> {
      await deps.hris.withdrawEmployee(request.employeeId, request.reason);
      await audit(request.runId, 'undo:hris', 'compensation.employee_withdrawn', 'compensation', { employeeId: request.employeeId, reason: request.reason });
    },

    async createAccount(request: { runId: string; employeeId: string; name: string; workEmail: string; systems: string[] }): Promise<{ accountId: string }> {
      const { runId, ...account } = request;
      const created = await deps.it.createAccount(account, `${runId}:account`);
      await audit(runId, 'it:account', 'it.account_created', 'provisioning', { accountId: created.accountId, username: created.username, systems: created.systems });
      return { accountId: created.accountId };
    },

    async deactivateAccount(request: { runId: string; accountId: string }): Promise<void> {
      await deps.it.deactivateAccount(request.accountId);
      await audit(request.runId, 'undo:it:account', 'compensation.account_deactivated', 'compensation', { accountId: request.accountId });
    },

    async orderEquipment(request: { runId: string; employeeId: string; input: HiringInput; offer: AcceptedOffer }): Promise<{ orderId: string }> {
      const { input, offer } = request;
      const order = await deps.it.orderEquipment(
        {
          employeeId: request.employeeId,
          items: equipmentFor(input),
          shipTo: { name: offer.name, line1: `c/o ${input.hiringManager.name}`, city: input.location, postalCode: '00000', country: 'DE' },
        },
        `${request.runId}:equipment`,
      );
      await audit(request.runId, 'it:equipment', 'it.equipment_ordered', 'provisioning', { orderId: order.orderId, items: order.items.map((i) => i.sku) });
      return { orderId: order.orderId };
    },

    async cancelEquipmentOrder(request: { runId: string; orderId: string }): Promise<void> {
      const order = await deps.it.cancelEquipmentOrder(request.orderId);
      if (order.status !== 'cancelled') throw ApplicationFailure.nonRetryable(`Equipment order ${request.orderId} is ${order.status}`, FailureType.equipmentNotCancellable);
      await audit(request.runId, 'undo:it:equipment', 'compensation.equipment_cancelled', 'compensation', { orderId: request.orderId });
    },

    /**
     * The new hire's welcome, and the hiring manager's checklist as a mail for runs that began before it became a
     * task of theirs (`checklistAsTask`: the task's own mail brings it).
     */
    async sendWelcomeMails(request: { runId: string; input: HiringInput; offer: AcceptedOffer; workEmail: string; employeeId: string; checklistAsTask?: boolean }): Promise<void> {
      const { input, offer } = request;
      await sendEmailOnce(deps, {
        idempotencyKey: `${request.runId}:welcome`,
        runId: request.runId,
        kind: 'hiring.welcome',
        to: offer.email,
        email: noticeEmail({
          subject: `Welcome to the team, ${offer.name}`,
          greeting: `Hello ${offer.name}`,
          paragraphs: [
            `We are glad you are joining ${input.department} as ${input.role} on ${offer.startDate}.`,
            `Your work account is ${request.workEmail}; sign-in details arrive there on your first day. Your equipment is on its way.`,
          ],
          details: [
            { label: 'Manager', value: input.hiringManager.name },
            { label: 'Location', value: input.location },
          ],
        }),
      });
      if (request.checklistAsTask) return;
      await sendEmailOnce(deps, {
        idempotencyKey: `${request.runId}:manager-checklist`,
        runId: request.runId,
        kind: 'hiring.manager_checklist',
        to: input.hiringManager.email,
        email: noticeEmail({
          subject: `${offer.name} starts on ${offer.startDate}: your checklist`,
          greeting: `Hello ${input.hiringManager.name}`,
          paragraphs: [`${offer.name} joins as ${input.role}. The HRIS record, accounts and equipment are done; these are yours:`],
          details: [
            { label: 'Employee id', value: request.employeeId },
            { label: 'Work e-mail', value: request.workEmail },
          ],
          checklist: [
            'Plan the first week and book a welcome lunch',
            'Pick an onboarding buddy',
            'Add them to team channels and recurring meetings',
            'Set 30/60/90-day goals',
          ],
        }),
      });
    },
  };
}
