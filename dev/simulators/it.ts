import { Router } from 'express';
import { z } from 'zod';
import type { SimulatorControls } from './faults.js';
import { sendConflict, sendNotFound, sequence } from './responses.js';

const accountSchema = z.object({
  employeeId: z.string().min(1),
  name: z.string().min(1).max(200),
  workEmail: z.email(),
  systems: z.array(z.string().min(1)).min(1),
});
const orderSchema = z.object({
  employeeId: z.string().min(1),
  items: z.array(z.object({ sku: z.string().min(1), description: z.string().min(1), quantity: z.number().int().positive() })).min(1),
  shipTo: z.object({ name: z.string().min(1), line1: z.string().min(1), city: z.string().min(1), postalCode: z.string().min(1), country: z.string().regex(/^[A-Z]{2}$/) }),
});

export interface Account extends z.infer<typeof accountSchema> {
  accountId: string;
  username: string;
  status: 'active' | 'deactivated';
  createdAt: string;
  deactivatedAt?: string;
}

export interface EquipmentOrder extends z.infer<typeof orderSchema> {
  orderId: string;
  status: 'ordered' | 'delivered' | 'cancelled';
  createdAt: string;
}

export class ItStore {
  private readonly accountList: Account[] = [];
  private readonly orderList: EquipmentOrder[] = [];
  private readonly nextAccount = sequence('ACC', 5);
  private readonly nextOrder = sequence('EQ', 5);

  accounts(): Account[] {
    return [...this.accountList];
  }

  orders(): EquipmentOrder[] {
    return [...this.orderList];
  }

  createAccount(fields: z.infer<typeof accountSchema>): Account {
    const account: Account = { accountId: this.nextAccount(), username: fields.workEmail.split('@')[0]!, status: 'active', createdAt: new Date().toISOString(), ...fields };
    this.accountList.push(account);
    return account;
  }

  order(fields: z.infer<typeof orderSchema>): EquipmentOrder {
    const order: EquipmentOrder = { orderId: this.nextOrder(), status: 'ordered', createdAt: new Date().toISOString(), ...fields };
    this.orderList.push(order);
    return order;
  }
}

/** IT provisioning: accounts in the company's systems, and equipment orders. */
export function itRouter(store: ItStore, controls: SimulatorControls): Router {
  const router = Router();
  const byEmployee = (employeeId: unknown) => (item: { employeeId: string }) => typeof employeeId !== 'string' || item.employeeId === employeeId;

  router.post(
    '/accounts',
    controls.creates('it', accountSchema, 'account', (fields) => store.createAccount(fields)),
  );
  router.get('/accounts', (req, res) => void res.json({ items: store.accounts().filter(byEmployee(req.query.employeeId)) }));
  router.post('/accounts/:id/deactivate', (req, res) => {
    const account = store.accounts().find((a) => a.accountId === req.params.id);
    if (!account) return sendNotFound(res, `account ${req.params.id}`);
    if (account.status === 'active') Object.assign(account, { status: 'deactivated', deactivatedAt: new Date().toISOString() });
    res.json(account);
  });

  router.post(
    '/equipment-orders',
    controls.creates('it', orderSchema, 'equipment order', (fields) => store.order(fields)),
  );
  router.get('/equipment-orders', (req, res) => void res.json({ items: store.orders().filter(byEmployee(req.query.employeeId)) }));
  router.post('/equipment-orders/:id/cancel', (req, res) => {
    const order = store.orders().find((o) => o.orderId === req.params.id);
    if (!order) return sendNotFound(res, `equipment order ${req.params.id}`);
    if (order.status === 'delivered') return sendConflict(res, `Equipment order ${order.orderId} was delivered; return it instead`);
    order.status = 'cancelled';
    res.json(order);
  });
  router.post('/equipment-orders/:id/deliver', (req, res) => {
    const order = store.orders().find((o) => o.orderId === req.params.id);
    if (!order) return sendNotFound(res, `equipment order ${req.params.id}`);
    if (order.status === 'cancelled') return sendConflict(res, `Equipment order ${order.orderId} was cancelled`);
    order.status = 'delivered';
    res.json(order);
  });
  return router;
}
