import { Router } from 'express';
import { z } from 'zod';
import type { SimulatorControls } from './faults.js';
import { sendNotFound, sequence, validationFailed, withReference } from './responses.js';

const checkSchema = z.object({ reference: z.string().min(1).max(200), name: z.string().min(1).max(300), country: z.string().regex(/^[A-Z]{2}$/) });

export interface Check extends z.infer<typeof checkSchema> {
  checkId: string;
  status: 'clear' | 'hit';
  matches: Array<{ list: string; name: string; score: number }>;
  screenedAt: string;
}

const embargoed = new Set(['KP', 'IR', 'SY', 'CU']);
const normalize = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N} ]/gu, ' ').replace(/\s+/g, ' ').trim();

export class ScreeningStore {
  private readonly list: Check[] = [];
  private readonly watchlist = [
    { name: 'petrov trading', list: 'EU-CONSOLIDATED' },
    { name: 'sanctioned', list: 'OFAC-SDN' },
    { name: 'blocked industries', list: 'EU-CONSOLIDATED' },
    { name: 'dprk', list: 'OFAC-SDN' },
  ];
  private readonly nextId = sequence('CHK', 5);

  checks(): Check[] {
    return [...this.list];
  }

  addToWatchlist(name: string, list = 'OFAC-SDN'): void {
    this.watchlist.push({ name: normalize(name), list });
  }

  screen(subject: z.infer<typeof checkSchema>): Check {
    const name = normalize(subject.name);
    const matches = this.watchlist.filter((w) => name.includes(w.name)).map((w) => ({ list: w.list, name: w.name, score: 0.97 }));
    if (embargoed.has(subject.country)) matches.push({ list: 'EMBARGO', name: subject.country, score: 1 });
    const check: Check = { checkId: this.nextId(), status: matches.length ? 'hit' : 'clear', matches, screenedAt: new Date().toISOString(), ...subject };
    this.list.push(check);
    return check;
  }
}

/** Sanctions and risk screening: watchlists and embargoed countries. */
export function screeningRouter(store: ScreeningStore, controls: SimulatorControls): Router {
  const router = Router();
  router.post(
    '/checks',
    controls.creates('screening', checkSchema, 'screening request', (fields) => store.screen(fields)),
  );
  router.get('/checks', (req, res) => {
    res.json({ items: withReference(req, store.checks()) });
  });
  router.get('/checks/:id', (req, res) => {
    const check = store.checks().find((c) => c.checkId === req.params.id);
    if (!check) return sendNotFound(res, `check ${req.params.id}`);
    res.json(check);
  });
  router.post('/watchlist', (req, res) => {
    const parsed = z.object({ name: z.string().min(2).max(300), list: z.string().min(1).max(50).optional() }).safeParse(req.body);
    if (!parsed.success) return void res.status(422).json(validationFailed(parsed.error, 'watchlist entry').body);
    store.addToWatchlist(parsed.data.name, parsed.data.list);
    res.status(201).json({ added: parsed.data.name });
  });
  return router;
}
