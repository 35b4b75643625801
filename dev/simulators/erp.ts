import { Router } from 'express';
import { z } from 'zod';
import type { SimulatorControls } from './faults.js';

export interface PurchaseOrder {
  poNumber: string;
  status: 'open';
  createdAt: string;
  reference: string;
  vendor: string;
  description: string;
  amount: number;
  currency: string;
  costCenter: string;
  category: string;
  requestedBy: string;
}

const purchaseOrderSchema = z.object({
  reference: z.string().min(1).max(200),
  vendor: z.string().min(1).max(200),
  description: z.string().min(1).max(500),
  amount: z.number().positive(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be 3 uppercase letters'),
  costCenter: z.string().min(1).max(50),
  category: z.string().min(1).max(50),
  requestedBy: z.email(),
});

export class ErpStore {
  private readonly orders: PurchaseOrder[] = [];

  create(fields: z.infer<typeof purchaseOrderSchema>): PurchaseOrder {
    const sequence = String(this.orders.length + 1).padStart(6, '0');
    const order: PurchaseOrder = { poNumber: `PO-${new Date().getUTCFullYear()}-${sequence}`, status: 'open', createdAt: new Date().toISOString(), ...fields };
    this.orders.push(order);
    return order;
  }

  purchaseOrders(): PurchaseOrder[] {
    return [...this.orders];
  }

  findByReference(reference: string): PurchaseOrder[] {
    return this.orders.filter((o) => o.reference === reference);
  }
}

/** The ERP's purchase-order API as Opsflow uses it. */
export function erpRouter(store: ErpStore, controls: SimulatorControls): Router {
  const router = Router();
  router.post(
    '/purchase-orders',
    controls.idempotent('erp', async (req) => {
      const parsed = purchaseOrderSchema.safeParse(req.body);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        return { status: 422, body: { error: { code: 'validation_failed', message: 'Invalid purchase order', details: { issues } } } };
      }
      return { status: 201, body: store.create(parsed.data) };
    }),
  );
  router.get('/purchase-orders', (req, res) => {
    const reference = typeof req.query.reference === 'string' ? req.query.reference : undefined;
    res.json({ items: reference ? store.findByReference(reference) : store.purchaseOrders() });
  });
  router.get('/purchase-orders/:poNumber', (req, res) => {
    const order = store.purchaseOrders().find((o) => o.poNumber === req.params.poNumber);
    if (!order) return void res.status(404).json({ error: { code: 'not_found', message: `No purchase order ${req.params.poNumber}` } });
    res.json(order);
  });
  return router;
}
