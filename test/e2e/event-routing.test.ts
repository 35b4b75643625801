import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyer, erpEvent, sendEvent, type OutgoingEvent } from '../support/events.js';
import { getJson, listEvents, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('inbound events start and advance runs', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const send = (event: OutgoingEvent) => sendEvent(stack, event);

  it('starts a run from an event, applies a receipt held for it before it started, then the later ones in order, and records the rest as unmatched', async () => {
    const po = `PO-SINGLE-${randomUUID().slice(0, 8)}`;
    const early = await send(erpEvent('goods.received', { poNumber: po, receiptId: 'GR-0', amount: 10 }));
    expect(early.status).toBe(202);
    expect(early.body).toMatchObject({ status: 'held', heldFor: 'invoice-match', correlationKey: po, runId: null });
    expect(early.body.reason).toBe(`waiting for the invoice-match run with key ${po} to start`);
    // EVENT_HOLD_WINDOW's default: a week from when it was held.
    const window = Date.parse(early.body.holdUntil) - Date.parse(early.body.receivedAt);
    expect(window).toBeGreaterThanOrEqual(7 * 86_400_000);
    expect(window).toBeLessThan(7 * 86_400_000 + 60_000);
    const held = await getJson(`${stack.apiUrl}/events?status=held&type=goods.received`);
    expect(held.body.items.map((e: { eventId: string }) => e.eventId)).toContain(early.body.eventId);

    const invoice = await send(erpEvent('invoice.received', { invoiceNumber: 'INV-1', poNumber: po, supplier: 'Acme', amount: 1000, currency: 'EUR', buyer }));
    expect(invoice.status).toBe(202);
    expect(invoice.body).toMatchObject({ status: 'started' });
    const runId: string = invoice.body.runId;

    const second = await send(erpEvent('invoice.received', { invoiceNumber: 'INV-1b', poNumber: po, supplier: 'Acme', amount: 1000, currency: 'EUR', buyer }));
    expect(second.body).toMatchObject({ status: 'unmatched' });
    expect(second.body.reason).toContain('already exists');

    const receipt = await send(erpEvent('goods.received', { poNumber: po, receiptId: 'GR-1', amount: 1000 }));
    expect(receipt.body).toMatchObject({ status: 'applied', runId });
    const run = await waitForRunStatus(stack, runId, 'completed');
    expect(run.outcome).toBe('matched');
    expect((await getJson(`${stack.apiUrl}/events/${early.body.eventId}`)).body).toMatchObject({ status: 'applied', runId, reason: null });

    const late = await send(erpEvent('goods.received', { poNumber: po, receiptId: 'GR-2', amount: 5 }));
    expect(late.body).toMatchObject({ status: 'unmatched', runId });
    // Refused by the run itself: still closing (its inbox closed) or closed by now.
    expect(late.body.reason).toMatch(new RegExp(`^${runId}: (the run is not waiting for goods.received from erp|the run has ended)$`));

    const unmatched = await listEvents(stack, { status: 'unmatched', type: 'goods.received' });
    expect(unmatched.map((e) => e.eventId)).toEqual([late.body.eventId]);
    // The receipt held before the run started reached it first: the order received.
    const mail = await stack.mail.waitFor((m) => m.to.includes(buyer.email) && m.subject.includes('INV-1'));
    expect(mail.text).toContain('GR-0, GR-1');
  });

  it('refuses an event that cannot become a process input, keeping it with field errors', async () => {
    const bad = await send(erpEvent('invoice.received', { invoiceNumber: 'INV-X', poNumber: 'PO-BAD', supplier: 'Acme', amount: -5, currency: 'EURO', buyer }));
    expect(bad.status).toBe(202);
    expect(bad.body.status).toBe('invalid');
    expect([...new Set(bad.body.issues.map((i: { path: string }) => i.path))].sort()).toEqual(['data.amount', 'data.currency']);
    expect(await stack.db.run.count({ where: { correlationKey: 'PO-BAD' } })).toBe(0);
  });
});
