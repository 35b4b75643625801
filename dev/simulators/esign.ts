import { Router, urlencoded } from 'express';
import { z } from 'zod';
import { escapeHtml } from '../../api/pages/html.js';
import type { SimulatorControls } from './faults.js';
import { sendConflict, sendNotFound, sequence } from './responses.js';

const envelopeSchema = z.object({
  reference: z.string().min(1).max(200),
  documentName: z.string().min(1).max(200),
  signer: z.object({ name: z.string().min(1).max(200), email: z.email() }),
  fields: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
});

export interface Envelope extends z.infer<typeof envelopeSchema> {
  envelopeId: string;
  status: 'sent' | 'signed' | 'declined' | 'voided';
  signingUrl: string;
  createdAt: string;
  signedAt?: string;
  reason?: string;
}

export class ESignStore {
  private readonly list: Envelope[] = [];
  private readonly nextId = sequence('ENV', 5);

  envelopes(): Envelope[] {
    return [...this.list];
  }

  find(id: string): Envelope | undefined {
    return this.list.find((e) => e.envelopeId === id);
  }

  send(fields: z.infer<typeof envelopeSchema>, baseUrl: string): Envelope {
    const envelopeId = this.nextId();
    const envelope: Envelope = { envelopeId, status: 'sent', signingUrl: `${baseUrl}/esign/sign/${envelopeId}`, createdAt: new Date().toISOString(), ...fields };
    this.list.push(envelope);
    return envelope;
  }
}

function signingPage(envelope: Envelope, message?: string): string {
  const rows = Object.entries(envelope.fields).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`).join('');
  const action =
    envelope.status === 'sent'
      ? `<form method="post" action="/esign/sign/${escapeHtml(encodeURIComponent(envelope.envelopeId))}"><button type="submit" name="action" value="sign">Sign</button> <button type="submit" name="action" value="decline">Decline</button></form>`
      : `<p><strong>${escapeHtml(message ?? `This document is ${envelope.status}.`)}</strong></p>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(envelope.documentName)}</title></head>
<body style="font-family:system-ui;max-width:640px;margin:2rem auto"><p>E-signature (simulator)</p><h1>${escapeHtml(envelope.documentName)}</h1>
<p>For ${escapeHtml(envelope.signer.name)} &lt;${escapeHtml(envelope.signer.email)}&gt;</p><table>${rows}</table>${action}</body></html>`;
}

/** The provider's API, plus the page the signer opens (no API key: the envelope id is the signer's link). */
export function esignRouter(store: ESignStore, controls: SimulatorControls): Router {
  const router = Router();
  const gate = controls.gate('esign');

  router.get('/sign/:id', (req, res) => {
    const envelope = store.find(String(req.params.id));
    if (!envelope) return void res.status(404).type('html').send('<p>No such document.</p>');
    res.type('html').send(signingPage(envelope));
  });
  router.post('/sign/:id', urlencoded({ extended: false }), (req, res) => {
    const envelope = store.find(String(req.params.id));
    if (!envelope) return void res.status(404).type('html').send('<p>No such document.</p>');
    if (envelope.status === 'sent') {
      if (req.body?.action === 'decline') Object.assign(envelope, { status: 'declined', reason: 'declined by the signer' });
      else Object.assign(envelope, { status: 'signed', signedAt: new Date().toISOString() });
    }
    res.type('html').send(signingPage(envelope, envelope.status === 'signed' ? 'Signed, thank you.' : undefined));
  });

  router.post(
    '/envelopes',
    gate,
    controls.creates('esign', envelopeSchema, 'envelope', (fields, req) => store.send(fields, `${req.protocol}://${req.get('host')}`)),
  );
  router.get('/envelopes/:id', gate, (req, res) => {
    const envelope = store.find(String(req.params.id));
    if (!envelope) return sendNotFound(res, `envelope ${req.params.id}`);
    res.json(envelope);
  });
  router.post('/envelopes/:id/sign', gate, (req, res) => {
    const envelope = store.find(String(req.params.id));
    if (!envelope) return sendNotFound(res, `envelope ${req.params.id}`);
    if (envelope.status === 'voided' || envelope.status === 'declined') return sendConflict(res, `Envelope ${envelope.envelopeId} is ${envelope.status}`);
    if (envelope.status === 'sent') Object.assign(envelope, { status: 'signed', signedAt: new Date().toISOString() });
    res.json(envelope);
  });
  router.post('/envelopes/:id/decline', gate, (req, res) => {
    const envelope = store.find(String(req.params.id));
    if (!envelope) return sendNotFound(res, `envelope ${req.params.id}`);
    if (envelope.status === 'signed' || envelope.status === 'voided') return sendConflict(res, `Envelope ${envelope.envelopeId} is ${envelope.status}`);
    if (envelope.status === 'sent') Object.assign(envelope, { status: 'declined', reason: String(req.body?.reason ?? 'declined') });
    res.json(envelope);
  });
  // Voiding is allowed even after signing (the offer was withdrawn); signedAt stays as a record.
  router.post('/envelopes/:id/void', gate, (req, res) => {
    const envelope = store.find(String(req.params.id));
    if (!envelope) return sendNotFound(res, `envelope ${req.params.id}`);
    if (envelope.status !== 'voided') Object.assign(envelope, { status: 'voided', reason: String(req.body?.reason ?? 'voided') });
    res.json(envelope);
  });
  return router;
}
