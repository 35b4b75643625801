import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvoiceMatchResult } from '../../workflows/invoice-match.js';
import { buyer, erpEvent, sendEvent, shuffled, type OutgoingEvent } from '../support/events.js';
import { getJson, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const KEYS = 100;
const RECEIPTS_PER_KEY = 4;
const SENDERS = 16;

interface Case {
  po: string;
  invoice: OutgoingEvent;
  receipts: Array<OutgoingEvent & { receiptId: string }>;
}

/**
 * The ERP as it really behaves: every event sent 2 or 3 times with its webhook-id, all of them shuffled, so many
 * goods receipts arrive before the invoice that starts their run. Nothing is routed again by hand.
 */
describe('a shuffled, duplicated burst of ERP events', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it(`${KEYS} invoices with ${RECEIPTS_PER_KEY} receipts each, every event 2-3 times, receipts before invoices: every run completes by itself and the event log agrees with every run`, async () => {
    const batch = randomUUID().slice(0, 6);
    // Four receipts of a quarter each: a run matches (and completes) only with all four, none is left over.
    const cases: Case[] = Array.from({ length: KEYS }, (_, i) => {
      const po = `PO-BURST-${batch}-${String(i).padStart(3, '0')}`;
      return {
        po,
        invoice: erpEvent('invoice.received', { invoiceNumber: `INV-${batch}-${i}`, poNumber: po, supplier: 'Acme', amount: 400, currency: 'EUR', buyer }),
        receipts: Array.from({ length: RECEIPTS_PER_KEY }, (_, n) => {
          const receiptId = `GR-${batch}-${i}-${n + 1}`;
          return { ...erpEvent('goods.received', { poNumber: po, receiptId, amount: 100 }), receiptId };
        }),
      };
    });
    const events = cases.flatMap((c) => [c.invoice, ...c.receipts]);
    expect(events).toHaveLength(500);
    const deliveries = shuffled(
      events.flatMap((event, i) => Array.from({ length: 2 + (i % 2) }, () => event)),
      20261201,
    );
    expect(deliveries).toHaveLength(1250);
    const firstDelivery = (event: OutgoingEvent) => deliveries.indexOf(event);
    const receiptsFirst = cases.filter((c) => c.receipts.some((r) => firstDelivery(r) < firstDelivery(c.invoice)));
    expect(receiptsFirst.length).toBeGreaterThanOrEqual(KEYS / 2);

    const answers: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        for (let i = next++; i < deliveries.length; i = next++) answers.push((await sendEvent(stack, deliveries[i]!)).status);
      }),
    );
    expect(answers.filter((status) => status !== 200 && status !== 202)).toEqual([]);

    const webhookIds = events.map((e) => e.webhookId);
    const runIds = await waitUntil(
      async () => {
        const runs = await stack.db.run.findMany({ where: { process: 'invoice-match', correlationKey: { in: cases.map((c) => c.po) } }, select: { id: true, status: true } });
        return runs.length === KEYS && runs.every((r) => r.status === 'completed') ? runs.map((r) => r.id) : undefined;
      },
      `all ${KEYS} runs to complete by themselves`,
      120_000,
    );
    await waitUntil(
      async () => (await stack.db.inboundEvent.count({ where: { webhookId: { in: webhookIds }, status: { in: ['received', 'held'] } } })) === 0,
      'every event to have its outcome',
      60_000,
    );

    const stored = await stack.db.inboundEvent.findMany({ where: { webhookId: { in: webhookIds } } });
    expect(stored).toHaveLength(500);
    const byWebhookId = new Map(stored.map((e) => [e.webhookId, e]));
    expect(stored.filter((e) => e.status === 'unmatched')).toEqual([]);
    expect(stored.filter((e) => e.status === 'started')).toHaveLength(KEYS);
    expect(stored.filter((e) => e.status === 'applied')).toHaveLength(KEYS * RECEIPTS_PER_KEY);

    for (const c of cases) {
      const invoice = byWebhookId.get(c.invoice.webhookId)!;
      expect(invoice.status).toBe('started');
      const runId = invoice.runId!;
      expect(runIds).toContain(runId);
      const receipts = c.receipts.map((r) => byWebhookId.get(r.webhookId)!);
      // The log says each receipt was applied to this run...
      expect(receipts.map((e) => [e.status, e.runId])).toEqual(receipts.map(() => ['applied', runId]));

      // ...and the run says the same: it matched on exactly these four receipts, each taken once...
      const result = (await stack.temporal.workflow.getHandle(runId).result()) as InvoiceMatchResult;
      expect(result.outcome).toBe('matched');
      expect([...result.receipts].sort()).toEqual(c.receipts.map((r) => r.receiptId).sort());
      // ...and its audit has one event.applied per receipt event.
      const { body: run } = await getJson(`${stack.apiUrl}/runs/${runId}`);
      expect(run).toMatchObject({ status: 'completed', outcome: 'matched' });
      const applied = (run.timeline as Array<{ action: string; details: { eventId: string } }>).filter((a) => a.action === 'event.applied');
      expect(applied.map((a) => a.details.eventId).sort()).toEqual(receipts.map((e) => e.id).sort());
    }
  }, 240_000);
});
