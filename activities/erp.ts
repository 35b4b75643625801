import type { HttpSystem } from './http-system.js';

export interface PurchaseOrderRequest {
  reference: string;
  vendor: string;
  description: string;
  amount: number;
  currency: string;
  costCenter: string;
  category: string;
  requestedBy: string;
}

export interface PurchaseOrder extends PurchaseOrderRequest {
  poNumber: string;
  status: string;
  createdAt: string;
}

export interface NewVendor {
  reference: string;
  legalName: string;
  country: string;
  taxId: string;
  vatNumber?: string;
  address: { line1: string; line2?: string; city: string; postalCode: string; country: string };
  bank: { accountHolder: string; iban?: string; bic?: string; accountNumber?: string; routingNumber?: string };
  category: string;
  contactEmail: string;
}

export interface Vendor extends NewVendor {
  vendorId: string;
  status: 'active' | 'blocked';
  createdAt: string;
}

/** The ERP as processes see it. `idempotencyKey` makes a retried call return the first record, never a second. */
export interface Erp {
  createPurchaseOrder(request: PurchaseOrderRequest, idempotencyKey: string): Promise<PurchaseOrder>;
  createVendor(vendor: NewVendor, idempotencyKey: string): Promise<Vendor>;
  /** Vendors in vendor-id order, a page at a time: `nextAfter` is the last id of a page when more follow. */
  vendorsPage(query: { status?: Vendor['status']; after?: string; limit: number }): Promise<{ items: Vendor[]; nextAfter: string | null }>;
  blockVendor(vendorId: string, reason: string): Promise<Vendor>;
}

export class HttpErp implements Erp {
  constructor(private readonly http: HttpSystem) {}
  createPurchaseOrder = (request: PurchaseOrderRequest, idempotencyKey: string) => this.http.create<PurchaseOrder>('/purchase-orders', request, idempotencyKey);
  createVendor = (vendor: NewVendor, idempotencyKey: string) => this.http.create<Vendor>('/vendors', vendor, idempotencyKey);
  vendorsPage = (query: { status?: Vendor['status']; after?: string; limit: number }) => {
    const params = new URLSearchParams({ limit: String(query.limit), ...(query.status ? { status: query.status } : {}), ...(query.after ? { after: query.after } : {}) });
    return this.http.get<{ items: Vendor[]; nextAfter: string | null }>(`/vendors?${params.toString()}`);
  };
  blockVendor = (vendorId: string, reason: string) => this.http.post<Vendor>(`/vendors/${encodeURIComponent(vendorId)}/block`, { reason });
}
