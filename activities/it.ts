import type { HttpSystem } from './http-system.js';

export interface Account {
  accountId: string;
  employeeId: string;
  username: string;
  workEmail: string;
  systems: string[];
  status: 'active' | 'deactivated';
}

export interface EquipmentOrder {
  orderId: string;
  employeeId: string;
  status: 'ordered' | 'delivered' | 'cancelled';
  items: Array<{ sku: string; description: string; quantity: number }>;
}

/** IT provisioning: accounts in the company's systems and equipment orders. */
export interface ItProvisioning {
  createAccount(account: { employeeId: string; name: string; workEmail: string; systems: string[] }, idempotencyKey: string): Promise<Account>;
  deactivateAccount(accountId: string): Promise<Account>;
  orderEquipment(
    order: { employeeId: string; items: EquipmentOrder['items']; shipTo: { name: string; line1: string; city: string; postalCode: string; country: string } },
    idempotencyKey: string,
  ): Promise<EquipmentOrder>;
  cancelEquipmentOrder(orderId: string): Promise<EquipmentOrder>;
}

export class HttpItProvisioning implements ItProvisioning {
  constructor(private readonly http: HttpSystem) {}
  createAccount = (account: Parameters<ItProvisioning['createAccount']>[0], idempotencyKey: string) => this.http.create<Account>('/accounts', account, idempotencyKey);
  deactivateAccount = (accountId: string) => this.http.post<Account>(`/accounts/${encodeURIComponent(accountId)}/deactivate`);
  orderEquipment = (order: Parameters<ItProvisioning['orderEquipment']>[0], idempotencyKey: string) => this.http.create<EquipmentOrder>('/equipment-orders', order, idempotencyKey);
  cancelEquipmentOrder = (orderId: string) => this.http.post<EquipmentOrder>(`/equipment-orders/${encodeURIComponent(orderId)}/cancel`);
}
