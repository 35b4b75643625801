import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../lib/webhook-signature.js';
import { getJson, listEvents, postJson, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

interface OutgoingEvent {
  webhookId: string;
  body: string;
}

const buyer = { name: 'Alex Rivera', email: 'alex.rivera@example.com' };

function erpEvent(type: string, data: Record<string, unknown>, webhookId = `msg_${randomUUID()}`): OutgoingEvent {
  return { webhookId, body: JSON.stringify({ type, data }) };
}

/** A deterministic shuffle, so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const copy = [...items];
  let state = seed;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

describe('inbound events start and advance runs', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function send(event: OutgoingEvent) {
    const timestamp = Math.floor(Date.now() / 1000);
    const response = await fetch(`${stack.apiUrl}/events/erp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': event.webhookId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(stack.eventSecrets.erp, event.webhookId, timestamp, event.body),
      },
      body: event.body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  it('starts a run from an event, applies the events it waits for, and records the rest as unmatched', async () => {
    const po = `PO-SINGLE-${randomUUID().slice(0, 8)}`;
    const early = await send(erpEvent('goods.received', { poNumber: po, receiptId: 'GR-0', amount: 10 }));
    expect(early.body).toMatchObject({ status: 'unmatched' });
    expect(early.body.reason).toContain(`no running invoice-match run has key ${po}`);

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

    const late = await send(erpEvent('goods.received', { poNumber: po, receiptId: 'GR-2', amount: 5 }));
    expect(late.body.status).toBe('unmatched');

    const unmatched = await listEvents(stack, { status: 'unmatched', type: 'goods.received' });
    expect(unmatched.map((e) => e.eventId)).toEqual(expect.arrayContaining([early.body.eventId, late.body.eventId]));
    const mail = await stack.mail.waitFor((m) => m.to.includes(buyer.email) && m.subject.includes('INV-1'));
    expect(mail.text).toContain('GR-1');
  });

  it('refuses an event that cannot become a process input, keeping it with field errors', async () => {
    const bad = await send(erpEvent('invoice.received', { invoiceNumber: 'INV-X', poNumber: 'PO-BAD', supplier: 'Acme', amount: -5, currency: 'EURO', buyer }));
    expect(bad.status).toBe(202);
    expect(bad.body.status).toBe('invalid');
    expect([...new Set(bad.body.issues.map((i: { path: string }) => i.path))].sort()).toEqual(['data.amount', 'data.currency']);
    expect(await stack.db.run.count({ where: { correlationKey: 'PO-BAD' } })).toBe(0);
  });

  it('burst: 500 events, each sent twice and out of order, for 100 keys → exactly 100 runs, every event applied once or unmatched', async () => {
    const batch = randomUUID().slice(0, 6);
    const keys = Array.from({ length: 100 }, (_, i) => `PO-${batch}-${String(i).padStart(3, '0')}`);
    const events: OutgoingEvent[] = keys.flatMap((po, i) => [
      erpEvent('invoice.received', { invoiceNumber: `INV-${i}`, poNumber: po, supplier: 'Acme', amount: 400, currency: 'EUR', buyer }),
      ...[1, 2, 3, 4].map((n) => erpEvent('goods.received', { poNumber: po, receiptId: `GR-${i}-${n}`, amount: 100 })),
    ]);
    expect(events).toHaveLength(500);
    const deliveries = shuffled([...events, ...events], 20261125);

    const answers: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < deliveries.length) {
          const delivery = deliveries[next++]!;
          answers.push((await send(delivery)).status);
        }
      }),
    );
    expect(answers.filter((s) => s !== 200 && s !== 202)).toEqual([]);

    const webhookIds = events.map((e) => e.webhookId);
    await waitUntil(async () => (await stack.db.inboundEvent.count({ where: { webhookId: { in: webhookIds }, status: 'received' } })) === 0, 'every event routed', 60_000);
    const stored = await stack.db.inboundEvent.findMany({ where: { webhookId: { in: webhookIds } } });
    expect(stored).toHaveLength(500);
    const byStatus = (status: string) => stored.filter((e) => e.status === status);
    expect(byStatus('started')).toHaveLength(100);
    expect(byStatus('applied').length + byStatus('unmatched').length).toBe(400);
    expect(stored.filter((e) => !['started', 'applied', 'unmatched'].includes(e.status))).toEqual([]);

    const runs = await stack.db.run.findMany({ where: { process: 'invoice-match', correlationKey: { in: keys } } });
    expect(runs).toHaveLength(100);
    expect(new Set(runs.map((r) => r.correlationKey)).size).toBe(100);

    // Applied once: one audit entry per applied event, and a run completes exactly when all four receipts reached it.
    const applied = await stack.db.auditEntry.findMany({ where: { action: 'event.applied', runId: { in: runs.map((r) => r.id) } } });
    expect(applied).toHaveLength(byStatus('applied').length);
    for (const run of runs) {
      const receipts = byStatus('applied').filter((e) => e.runId === run.id).length;
      const expected = receipts === 4 ? 'completed' : 'running';
      const settled = await waitUntil(async () => {
        const row = await stack.db.run.findUniqueOrThrow({ where: { id: run.id } });
        return row.status === expected ? row : undefined;
      }, `${run.id} to be ${expected}`);
      expect(settled.status).toBe(expected);
    }
    for (const run of runs.filter((r) => r.status === 'running')) await stack.temporal.workflow.getHandle(run.id).terminate('test done').catch(() => undefined);
  }, 180_000);

  it('lets an operator route an unmatched event again once its run exists', async () => {
    const po = `PO-LATE-${randomUUID().slice(0, 8)}`;
    const early = await send(erpEvent('goods.received', { poNumber: po, receiptId: 'GR-9', amount: 50 }));
    expect(early.body.status).toBe('unmatched');
    const invoice = await send(erpEvent('invoice.received', { invoiceNumber: 'INV-9', poNumber: po, supplier: 'Acme', amount: 50, currency: 'EUR', buyer }));
    expect(invoice.body.status).toBe('started');
    const again = await postJson(`${stack.apiUrl}/events/${early.body.eventId}/route`, {});
    expect([200, 202]).toContain(again.status);
    const routed = await waitUntil(async () => {
      const { body } = await getJson(`${stack.apiUrl}/events/${early.body.eventId}`);
      return body.status !== 'received' ? body : undefined;
    }, 'the event to be routed');
    expect(routed).toMatchObject({ status: 'applied', runId: invoice.body.runId });
    await waitForRunStatus(stack, invoice.body.runId, 'completed');
    expect((await postJson(`${stack.apiUrl}/events/${early.body.eventId}/route`, {})).status).toBe(409);
  });
});
