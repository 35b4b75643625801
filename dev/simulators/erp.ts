import { Router } from 'express';
import { z } from 'zod';
import type { SimulatorControls } from './faults.js';
import { sendNotFound, sequence, validationFailed, withReference } from './responses.js';

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

const vendorSchema = z.object({
  reference: z.string().min(1).max(200),
  legalName: z.string().min(1).max(300),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO country code'),
  taxId: z.string().min(1).max(50),
  vatNumber: z.string().max(20).optional(),
  address: z.object({ line1: z.string().min(1), line2: z.string().optional(), city: z.string().min(1), postalCode: z.string().min(1), country: z.string().regex(/^[A-Z]{2}$/) }),
  bank: z.object({ accountHolder: z.string().min(1), iban: z.string().optional(), bic: z.string().optional(), accountNumber: z.string().optional(), routingNumber: z.string().optional() }),
  category: z.string().min(1).max(100),
  contactEmail: z.email(),
});

export interface Vendor extends z.infer<typeof vendorSchema> {
  vendorId: string;
  status: 'active' | 'blocked';
  createdAt: string;
  blockedReason?: string;
}

const budgets: Record<string, [number, number]> = {
  'ENG-100': [2_000_000, 1_450_000],
  'FIN-200': [400_000, 390_000],
  'OPS-300': [900_000, 600_000],
  'SAL-400': [1_200_000, 700_000],
  'PPL-500': [300_000, 150_000],
  'LEG-600': [250_000, 100_000],
};

export class ErpStore {
  private readonly orders: PurchaseOrder[] = [];
  private readonly vendorList: Vendor[] = [];
  private readonly nextVendor = sequence('V', 6);

  vendors(): Vendor[] {
    return [...this.vendorList];
  }

  createVendor(fields: z.infer<typeof vendorSchema>): Vendor {
    const vendor: Vendor = { vendorId: this.nextVendor(), status: 'active', createdAt: new Date().toISOString(), ...fields };
    this.vendorList.push(vendor);
    return vendor;
  }

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

/** The ERP's purchase-order, vendor-master and budget APIs as Opsflow uses them. */
export function erpRouter(store: ErpStore, controls: SimulatorControls): Router {
  const router = Router();
  router.post(
    '/purchase-orders',
    controls.creates('erp', purchaseOrderSchema, 'purchase order', (fields) => store.create(fields)),
  );
  router.post(
    '/vendors',
    controls.idempotent('erp', async (req) => {
      const parsed = vendorSchema.safeParse(req.body);
      if (!parsed.success) return validationFailed(parsed.error, 'vendor');
      const duplicate = store.vendors().find((v) => v.taxId === parsed.data.taxId && v.country === parsed.data.country && v.reference !== parsed.data.reference);
      if (duplicate) return { status: 409, body: { error: { code: 'conflict', message: `Vendor ${duplicate.vendorId} already has tax id ${duplicate.taxId}` } } };
      return { status: 201, body: store.createVendor(parsed.data) };
    }),
  );
  /** In vendor-id order; `status`, and `after` + `limit` (at most 500) to page, as the real ERP's list does. */
  router.get('/vendors', (req, res) => {
    const status = typeof req.query.status === 'string' ? req.query.status : undefined;
    const after = typeof req.query.after === 'string' ? req.query.after : undefined;
    const limit = Math.min(Math.max(Number(req.query.limit) || 500, 1), 500);
    const matching = withReference(req, store.vendors())
      .filter((v) => (!status || v.status === status) && (!after || v.vendorId > after))
      .sort((a, b) => a.vendorId.localeCompare(b.vendorId));
    const items = matching.slice(0, limit);
    res.json({ items, nextAfter: matching.length > limit ? items.at(-1)!.vendorId : null });
  });
  router.get('/vendors/:id', (req, res) => {
    const vendor = store.vendors().find((v) => v.vendorId === req.params.id);
    if (!vendor) return sendNotFound(res, `vendor ${req.params.id}`);
    res.json(vendor);
  });
  router.post('/vendors/:id/block', (req, res) => {
    const vendor = store.vendors().find((v) => v.vendorId === req.params.id);
    if (!vendor) return sendNotFound(res, `vendor ${req.params.id}`);
    if (vendor.status !== 'blocked') Object.assign(vendor, { status: 'blocked', blockedReason: String(req.body?.reason ?? 'blocked') });
    res.json(vendor);
  });
  router.get('/budgets/:costCenter', (req, res) => {
    const budget = budgets[String(req.params.costCenter).toUpperCase()];
    if (!budget) return sendNotFound(res, `budget for ${req.params.costCenter}`);
    res.json({ costCenter: String(req.params.costCenter).toUpperCase(), year: new Date().getUTCFullYear(), currency: 'EUR', budget: budget[0], committed: budget[1], available: budget[0] - budget[1] });
  });
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
