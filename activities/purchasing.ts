import type { ActivityDeps } from './deps.js';
import type { PurchaseOrder, PurchaseOrderRequest } from './erp.js';
import { writeAudit } from './records.js';

export function createPurchasingActivities(deps: ActivityDeps) {
  return {
    /** One PO per run: the ERP keeps the idempotency key `${runId}:purchase-order`, so retries get the same PO. */
    async createPurchaseOrder(request: PurchaseOrderRequest & { runId: string }): Promise<PurchaseOrder> {
      const { runId, ...order } = request;
      const po = await deps.erp.createPurchaseOrder(order, `${runId}:purchase-order`);
      await writeAudit(deps, {
        eventKey: `${runId}:purchase-order:created`,
        runId,
        action: 'erp.purchase_order.created',
        actor: 'opsflow',
        step: 'purchase-order',
        details: { poNumber: po.poNumber, amount: po.amount, currency: po.currency },
      });
      return po;
    },
  };
}
