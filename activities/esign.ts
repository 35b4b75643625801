import type { HttpSystem } from './http-system.js';

export interface NewEnvelope {
  reference: string;
  documentName: string;
  signer: { name: string; email: string };
  fields: Record<string, string | number>;
}

export interface Envelope extends NewEnvelope {
  envelopeId: string;
  status: 'sent' | 'signed' | 'declined' | 'voided';
  signingUrl: string;
  signedAt?: string;
}

/** E-signature: a document goes out in an envelope; the signer signs (or declines) on the provider's page. */
export interface ESignature {
  sendEnvelope(envelope: NewEnvelope, idempotencyKey: string): Promise<Envelope>;
  envelope(envelopeId: string): Promise<Envelope>;
  voidEnvelope(envelopeId: string, reason: string): Promise<Envelope>;
}

export class HttpESignature implements ESignature {
  constructor(private readonly http: HttpSystem) {}
  sendEnvelope = (envelope: NewEnvelope, idempotencyKey: string) => this.http.create<Envelope>('/envelopes', envelope, idempotencyKey);
  envelope = (envelopeId: string) => this.http.get<Envelope>(`/envelopes/${encodeURIComponent(envelopeId)}`);
  voidEnvelope = (envelopeId: string, reason: string) => this.http.post<Envelope>(`/envelopes/${encodeURIComponent(envelopeId)}/void`, { reason });
}
