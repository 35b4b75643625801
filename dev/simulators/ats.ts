import { Router } from 'express';
import { z } from 'zod';
import { signWebhook } from '../../lib/webhook-signature.js';
import type { SimulatorControls } from './faults.js';
import { sendConflict, sendNotFound, sequence, validationFailed, withReference } from './responses.js';

const requisitionSchema = z
  .object({
    reference: z.string().min(1).max(200),
    title: z.string().min(1).max(200),
    department: z.string().min(1).max(100),
    level: z.string().min(1).max(10),
    location: z.string().min(1).max(200),
    salaryMin: z.number().positive(),
    salaryMax: z.number().positive(),
    currency: z.string().regex(/^[A-Z]{3}$/),
    hiringManagerEmail: z.email(),
    closesOn: z.iso.date(),
  })
  .refine((r) => r.salaryMax >= r.salaryMin, { path: ['salaryMax'], message: 'must be at least salaryMin' });

const candidateSchema = z.object({ name: z.string().min(1).max(200), email: z.email() });
const offerSchema = z.object({ startDate: z.iso.date(), salary: z.number().positive(), currency: z.string().regex(/^[A-Z]{3}$/) });

export interface Requisition extends z.infer<typeof requisitionSchema> {
  requisitionId: string;
  status: 'open' | 'closed';
  closeReason?: string;
  createdAt: string;
}

export interface Candidate {
  candidateId: string;
  requisitionId: string;
  name: string;
  email: string;
  status: 'applied' | 'offer_accepted' | 'withdrawn';
  offer?: z.infer<typeof offerSchema>;
}

export interface EventTarget {
  url: string;
  secret: string;
}

export interface EventDelivery {
  url: string;
  webhookId: string;
  type: string;
  attempt: number;
  status: number | null;
  error?: string;
}

export class AtsStore {
  private readonly requisitionList: Requisition[] = [];
  private readonly candidateList: Candidate[] = [];
  private readonly deliveries: EventDelivery[] = [];
  private readonly nextRequisition = sequence('REQ', 4);
  private readonly nextCandidate = sequence('CAND', 4);

  constructor(private eventTarget?: EventTarget) {}

  /** Set once the engine's URL is known (it starts after the simulators). */
  sendEventsTo(target: EventTarget | undefined): void {
    this.eventTarget = target;
  }

  requisitions(): Requisition[] {
    return [...this.requisitionList];
  }

  candidates(): Candidate[] {
    return [...this.candidateList];
  }

  eventDeliveries(): EventDelivery[] {
    return [...this.deliveries];
  }

  openRequisition(fields: z.infer<typeof requisitionSchema>): Requisition {
    const requisition: Requisition = { requisitionId: this.nextRequisition(), status: 'open', createdAt: new Date().toISOString(), ...fields };
    this.requisitionList.push(requisition);
    return requisition;
  }

  addCandidate(requisitionId: string, fields: z.infer<typeof candidateSchema>): Candidate {
    const candidate: Candidate = { candidateId: this.nextCandidate(), requisitionId, status: 'applied', ...fields };
    this.candidateList.push(candidate);
    return candidate;
  }

  /** Tells the engine, signed like any Standard Webhooks sender, retrying a few times on failure. */
  emit(type: string, webhookId: string, data: Record<string, unknown>): void {
    const target = this.eventTarget;
    if (!target) return;
    const body = JSON.stringify({ type, data });
    void (async () => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const timestamp = Math.floor(Date.now() / 1000);
        const delivery: EventDelivery = { url: target.url, webhookId, type, attempt, status: null };
        this.deliveries.push(delivery);
        try {
          const response = await fetch(target.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'webhook-id': webhookId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(target.secret, webhookId, timestamp, body) },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          delivery.status = response.status;
          if (response.status < 500) return;
        } catch (error) {
          delivery.error = (error as Error).message;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    })();
  }
}

/** The ATS: requisitions, candidates, and the offer events it sends to the engine. */
export function atsRouter(store: AtsStore, controls: SimulatorControls): Router {
  const router = Router();
  const requisition = (id: string) => store.requisitions().find((r) => r.requisitionId === id);
  const candidate = (id: string) => store.candidates().find((c) => c.candidateId === id);

  router.post(
    '/requisitions',
    controls.creates('ats', requisitionSchema, 'requisition', (fields) => store.openRequisition(fields)),
  );
  router.get('/requisitions', (req, res) => {
    res.json({ items: withReference(req, store.requisitions()) });
  });
  router.get('/requisitions/:id', (req, res) => {
    const found = requisition(String(req.params.id));
    if (!found) return sendNotFound(res, `requisition ${req.params.id}`);
    res.json(found);
  });
  router.post('/requisitions/:id/close', (req, res) => {
    const found = requisition(String(req.params.id));
    if (!found) return sendNotFound(res, `requisition ${req.params.id}`);
    const reason = z.enum(['filled', 'expired', 'cancelled']).safeParse(req.body?.reason);
    if (!reason.success) return void res.status(422).json(validationFailed(reason.error, 'close reason').body);
    if (found.status === 'open') Object.assign(found, { status: 'closed', closeReason: reason.data });
    res.json(found);
  });
  router.post(
    '/requisitions/:id/candidates',
    controls.idempotent('ats', async (req) => {
      const found = requisition(String(req.params.id));
      if (!found) return { status: 404, body: { error: { code: 'not_found', message: `No requisition ${req.params.id}` } } };
      if (found.status !== 'open') return { status: 409, body: { error: { code: 'conflict', message: `Requisition ${found.requisitionId} is closed` } } };
      const parsed = candidateSchema.safeParse(req.body);
      if (!parsed.success) return validationFailed(parsed.error, 'candidate');
      return { status: 201, body: store.addCandidate(found.requisitionId, parsed.data) };
    }),
  );
  router.get('/candidates/:id', (req, res) => {
    const found = candidate(String(req.params.id));
    if (!found) return sendNotFound(res, `candidate ${req.params.id}`);
    res.json(found);
  });
  router.post('/candidates/:id/accept-offer', (req, res) => {
    const found = candidate(String(req.params.id));
    if (!found) return sendNotFound(res, `candidate ${req.params.id}`);
    const offer = offerSchema.safeParse(req.body);
    if (!offer.success) return void res.status(422).json(validationFailed(offer.error, 'offer').body);
    if (found.status === 'withdrawn') return sendConflict(res, `Candidate ${found.candidateId} withdrew`);
    Object.assign(found, { status: 'offer_accepted', offer: offer.data });
    res.json(found);
    const req_ = requisition(found.requisitionId)!;
    store.emit('offer.accepted', `evt_offer_${found.candidateId}`, {
      candidateId: found.candidateId,
      requisitionId: found.requisitionId,
      requisitionReference: req_.reference,
      name: found.name,
      email: found.email,
      ...offer.data,
    });
  });
  router.post('/candidates/:id/withdraw', (req, res) => {
    const found = candidate(String(req.params.id));
    if (!found) return sendNotFound(res, `candidate ${req.params.id}`);
    found.status = 'withdrawn';
    res.json(found);
    store.emit('offer.withdrawn', `evt_withdrawn_${found.candidateId}`, {
      candidateId: found.candidateId,
      requisitionId: found.requisitionId,
      requisitionReference: requisition(found.requisitionId)!.reference,
      reason: typeof req.body?.reason === 'string' ? req.body.reason : 'the candidate withdrew',
    });
  });
  return router;
}
