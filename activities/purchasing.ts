import { updateRunRow } from '../lib/run-record.js';
import { purchaseOrderCreatedEntry } from '../processes/capex-flow.js';
import { currentActivity } from './activity-context.js';
import { closeCarriedSlackMessages, writeCarriedRecords, type DecisionRecord } from './approvals.js';
import type { ActivityDeps } from './deps.js';
import type { PurchaseOrder, PurchaseOrderRequest } from './erp.js';
import { writeAudit, writeInOneTransaction } from './records.js';

export interface PurchaseOrderStep extends PurchaseOrderRequest {
  runId: string;
  /** Decision records not written yet, written (with `currentStep`) before the order is raised: it follows from them. */
  precededBy?: DecisionRecord[];
  /** The run's current step in the read model, written before the order is raised. */
  currentStep?: string;
  /** The order's audit entry is written with the run's close (RUN_CLOSED_WITH_NOTICE), not here. */
  auditedWithClose?: boolean;
  /**
   * The run's close writes `precededBy` and the step as well (PURCHASE_ORDER_RECORDS_WITH_CLOSE): this activity
   * writes them only from its second attempt, so an order the ERP raises at once costs no transaction of its own and
   * an ERP that is down or slow does not keep them out of the read model longer than one attempt.
   */
  recordsFollowWithClose?: boolean;
}


export function createPurchasingActivities(deps: ActivityDeps) {
  return {
    /** One PO per run: the ERP keeps the idempotency key `${runId}:purchase-order`, so retries get the same PO. */
    async createPurchaseOrder(request: PurchaseOrderStep): Promise<PurchaseOrder> {
      const { runId, precededBy, currentStep, auditedWithClose, recordsFollowWithClose, ...order } = request;
      if ((precededBy?.length || currentStep) && (!recordsFollowWithClose || (currentActivity()?.info.attempt ?? 1) > 1)) {
        const carried = await writeInOneTransaction(deps, async (tx, audit) => {
          const carried = await writeCarriedRecords(tx, audit, precededBy);
          if (currentStep) await updateRunRow(tx, runId, { currentStep });
          return carried;
        });
        await closeCarriedSlackMessages(deps, carried);
      }
      const po = await deps.erp.createPurchaseOrder(order, `${runId}:purchase-order`);
      if (!auditedWithClose) await writeAudit(deps, purchaseOrderCreatedEntry(runId, po));
      return po;
    },
  };
}
