import type { HttpSystem } from './http-system.js';

export interface NewRequisition {
  reference: string;
  title: string;
  department: string;
  level: string;
  location: string;
  salaryMin: number;
  salaryMax: number;
  currency: string;
  hiringManagerEmail: string;
  closesOn: string;
}

export interface Requisition extends NewRequisition {
  requisitionId: string;
  status: 'open' | 'closed';
  closeReason?: string;
}

/** The applicant tracking system: requisitions are opened and closed here; candidates and offers live there. */
export interface Ats {
  openRequisition(requisition: NewRequisition, idempotencyKey: string): Promise<Requisition>;
  closeRequisition(requisitionId: string, reason: 'filled' | 'expired' | 'cancelled'): Promise<Requisition>;
}

export class HttpAts implements Ats {
  constructor(private readonly http: HttpSystem) {}
  openRequisition = (requisition: NewRequisition, idempotencyKey: string) => this.http.create<Requisition>('/requisitions', requisition, idempotencyKey);
  closeRequisition = (requisitionId: string, reason: 'filled' | 'expired' | 'cancelled') =>
    this.http.post<Requisition>(`/requisitions/${encodeURIComponent(requisitionId)}/close`, { reason });
}
