import { allHandlersFinished, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { durationMs } from '../processes/duration.js';
import { eventKind } from '../processes/event-messages.js';
import type { InvoiceMatchInput, InvoiceMatchPolicy } from '../processes/invoice-match.js';
import { invoiceMatchRun } from '../processes/invoice-match-flow.js';
import { formatMoney } from '../processes/format.js';
import type { RunArgs } from '../processes/types.js';
import { openRun, revokeLinksAndTellRequester } from './approval-chain.js';
import { EventInbox } from './event-inbox.js';
import { trackRun } from './run-lifecycle.js';

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

const GOODS_RECEIVED = eventKind('erp', 'goods.received');
const INVOICE_CANCELLED = eventKind('erp', 'invoice.cancelled');

export interface InvoiceMatchResult {
  outcome: 'matched' | 'released' | 'blocked' | 'cancelled' | 'expired';
  receivedAmount: number;
  receipts: string[];
}

/** Goods receipts for the PO until they cover the invoice; short at the deadline, finance decides. */
export async function invoiceMatchWorkflow(args: RunArgs<InvoiceMatchInput, InvoiceMatchPolicy>): Promise<InvoiceMatchResult> {
  const { input } = args;
  const inbox = new EventInbox([GOODS_RECEIVED, INVOICE_CANCELLED]);
  const { tracker, desk, policy: settings } = await openRun(invoiceMatchRun, args);
  const needed = input.amount * (1 - settings.tolerancePercent / 100);
  const receipts: string[] = [];
  let received = 0;

  const result = await trackRun(
    tracker,
    async (): Promise<InvoiceMatchResult> => {
      await tracker.enterStep('awaiting-goods-receipt');
      const deadline = Date.now() + durationMs(settings.receiptTimeout);
      while (received < needed) {
        const event = await inbox.next([GOODS_RECEIVED, INVOICE_CANCELLED], Math.max(1, deadline - Date.now()));
        if (!event) break;
        if (event.type === 'invoice.cancelled') {
          inbox.stopAccepting(GOODS_RECEIVED, INVOICE_CANCELLED);
          await tracker.close('cancelled', 'invoice cancelled', `The supplier cancelled invoice ${input.invoiceNumber}`);
          return { outcome: 'cancelled', receivedAmount: received, receipts };
        }
        const amount = Number(event.data.amount);
        received += Number.isFinite(amount) && amount > 0 ? amount : 0;
        receipts.push(String(event.data.receiptId ?? event.eventId));
      }
      inbox.stopAccepting(GOODS_RECEIVED, INVOICE_CANCELLED);
      const facts = [
        { label: 'Received', value: formatMoney(received, input.currency) },
        { label: 'Receipts', value: receipts.join(', ') || 'none' },
      ];
      if (received >= needed) {
        await tracker.closeAndTell('completed', 'matched', { notice: { outcome: 'approved', facts } });
        return { outcome: 'matched', receivedAmount: received, receipts };
      }

      const release = await desk.step({
        stepId: 'payment-release',
        title: `Release payment with goods receipts of ${formatMoney(received, input.currency)} against ${formatMoney(input.amount, input.currency)}`,
        approvers: settings.releaseApprovers,
        timing: settings.approval,
      });
      if (release.outcome === 'approved') {
        await tracker.closeAndTell('completed', 'released', { notice: { outcome: 'approved', facts } });
        return { outcome: 'released', receivedAmount: received, receipts };
      }
      const status = release.outcome === 'expired' ? 'expired' : 'rejected';
      const reason = release.outcome === 'expired' ? release.reason : (release.decision.comment ?? 'payment blocked');
      await tracker.closeAndTell(status, status === 'expired' ? 'expired' : 'blocked', { reason, notice: { outcome: status, reason, facts } });
      return { outcome: status === 'expired' ? 'expired' : 'blocked', receivedAmount: received, receipts };
    },
    revokeLinksAndTellRequester(desk, tracker),
  );
  await condition(allHandlersFinished);
  return result;
}
