import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIdForKey } from '../../api/event-routing.js';
import { markStarted, NOT_STARTED, runArgsOf } from '../../api/run-service.js';
import { resolveRunPolicy } from '../../lib/policy-store.js';
import { recordFactsVersion, runRow, runSearchAttributes } from '../../lib/run-record.js';
import { APPLY_EVENT_UPDATE } from '../../processes/event-messages.js';
import { findProcess } from '../../processes/index.js';
import type { InvoiceMatchResult } from '../../workflows/invoice-match.js';
import { buyer, erpEvent, sendEvent, type OutgoingEvent } from '../support/events.js';
import { getJson, postJson, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type RunningWorker, type Stack } from '../support/stack.js';

const HOLD_WINDOW_MS = 3_000;

/**
 * Events that arrive before their run: held, applied when it starts (in order), re-tried when delivered again, and
 * unmatched with the reason once the hold window passes. The event sweep runs only when a test calls it, so each
 * test shows which path settled an event.
 */
describe('held events', () => {
  let stack: Stack;
  let worker: RunningWorker;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none', eventHoldWindow: `${HOLD_WINDOW_MS / 1000}s`, eventSweep: 'manual' });
    worker = await stack.startWorker();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const send = (event: OutgoingEvent) => sendEvent(stack, event);
  const newPo = (label: string) => `PO-${label}-${randomUUID().slice(0, 8)}`;
  const invoiceFor = (po: string, amount: number) => erpEvent('invoice.received', { invoiceNumber: `INV-${po}`, poNumber: po, supplier: 'Acme', amount, currency: 'EUR', buyer });
  const receiptFor = (po: string, receiptId: string, amount: number) => erpEvent('goods.received', { poNumber: po, receiptId, amount });
  const eventById = async (eventId: string) => (await getJson(`${stack.apiUrl}/events/${eventId}`)).body;
  const appliedAudit = (runId: string) => stack.db.auditEntry.findMany({ where: { runId, action: 'event.applied' } });

  /** An invoice-match run for this PO recorded without the API (as a schedule's run records itself), with `status`. */
  async function recordRunBehindTheApi(po: string, amount: number, status = 'running') {
    const process = findProcess('invoice-match')!;
    const input = process.inputSchema.parse({ invoiceNumber: `INV-${po}`, poNumber: po, supplier: 'Acme', amount, currency: 'EUR', requester: buyer });
    const runId = runIdForKey(process.key, po);
    const row = runRow(process, runId, input, {}, await resolveRunPolicy(stack.db, process, undefined, true), { trigger: 'event', correlationKey: po });
    await stack.db.$transaction(async (tx) => {
      await tx.run.create({ data: { ...row, status } });
      await recordFactsVersion(tx, process, runId, input);
    });
    const startWorkflow = () =>
      stack.temporal.workflow.start(process.workflowType, { workflowId: runId, taskQueue: stack.taskQueue, args: [runArgsOf(row)], typedSearchAttributes: runSearchAttributes(process, input) });
    return { runId, startWorkflow };
  }

  it('applies the events held for a run, when it starts, in the order they were received', async () => {
    const po = newPo('ORDER');
    const held = [];
    for (const receiptId of ['GR-A', 'GR-B', 'GR-C']) held.push((await send(receiptFor(po, receiptId, 100))).body);
    expect(held.map((e) => e.status)).toEqual(['held', 'held', 'held']);

    const invoice = await send(invoiceFor(po, 300));
    expect(invoice.body.status).toBe('started');
    const runId: string = invoice.body.runId;
    // No sweep runs in this file unless a test calls it: the start itself hands the run its held events.
    await waitForRunStatus(stack, runId, 'completed');
    const result = (await stack.temporal.workflow.getHandle(runId).result()) as InvoiceMatchResult;
    expect(result).toMatchObject({ outcome: 'matched', receipts: ['GR-A', 'GR-B', 'GR-C'] });
    for (const event of held) expect(await eventById(event.eventId)).toMatchObject({ status: 'applied', runId, heldFor: 'invoice-match', correlationKey: po });
    expect(await appliedAudit(runId)).toHaveLength(3);
  });

  it('routes a held event again when its webhook-id is delivered again: a run started elsewhere (as by a schedule) gets it then, once', async () => {
    const po = newPo('REDELIVERED');
    const receipt = receiptFor(po, 'GR-R', 250);
    const first = await send(receipt);
    expect(first.body.status).toBe('held');

    // Recorded and started without the API, so no start hands it the event.
    const { runId, startWorkflow } = await recordRunBehindTheApi(po, 250);
    await startWorkflow();
    expect((await eventById(first.body.eventId)).status).toBe('held');

    const again = await send(receipt);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ eventId: first.body.eventId, duplicate: true, status: 'applied', runId });
    await waitForRunStatus(stack, runId, 'completed');
    const third = await send(receipt);
    expect(third.body).toMatchObject({ eventId: first.body.eventId, duplicate: true, status: 'applied', runId });
    expect(await stack.db.inboundEvent.count({ where: { webhookId: receipt.webhookId } })).toBe(1);
    expect(await appliedAudit(runId)).toHaveLength(1);
    expect(((await stack.temporal.workflow.getHandle(runId).result()) as InvoiceMatchResult).receipts).toEqual(['GR-R']);
  });

  it('records an event whose inline wait ran out as the run answered it, also when the run completed meanwhile', async () => {
    const po = newPo('LATE-ANSWER');
    const invoice = await send(invoiceFor(po, 120));
    const runId: string = invoice.body.runId;
    await waitUntil(async () => (await stack.db.run.findUnique({ where: { id: runId } }))?.currentStep === 'awaiting-goods-receipt', 'the run to wait for receipts');

    await worker.stop();
    const receipt = await send(receiptFor(po, 'GR-L', 120));
    // Nobody took the Update within the API's inline wait.
    expect(receipt.body).toMatchObject({ status: 'received', runId: null });
    worker = await stack.startWorker();
    // The Update reaches the run after all (Temporal may keep the one still waiting; here, as another API instance
    // would, the same Update is sent again with the same id), and the run completes before this API looks again.
    const stored = await stack.db.inboundEvent.findUniqueOrThrow({ where: { id: receipt.body.eventId } });
    await stack.temporal.workflow.getHandle(runId).executeUpdate(APPLY_EVENT_UPDATE, {
      updateId: stored.id,
      args: [{ eventId: stored.id, source: stored.source, type: stored.type, data: stored.payload, receivedAt: stored.receivedAt.toISOString() }],
    });
    await waitForRunStatus(stack, runId, 'completed');
    await waitUntil(async () => (await stack.temporal.workflow.getHandle(runId).describe()).status.name === 'COMPLETED', 'the workflow to close');
    expect((await eventById(receipt.body.eventId)).status).toBe('received');

    await stack.sweepEvents();
    expect(await eventById(receipt.body.eventId)).toMatchObject({ status: 'applied', runId, reason: null });
    expect(await appliedAudit(runId)).toHaveLength(1);
    expect(((await stack.temporal.workflow.getHandle(runId).result()) as InvoiceMatchResult).receipts).toEqual(['GR-L']);
  });

  it('records an event for a closed run whose history Temporal no longer keeps as unmatched, instead of trying it forever', async () => {
    const po = newPo('RETAINED');
    // Its row remains; its workflow is past the namespace's retention (here: it never existed on this server).
    const { runId } = await recordRunBehindTheApi(po, 50, 'completed');
    const late = await send(receiptFor(po, 'GR-OLD', 50));
    expect(late.body).toMatchObject({ status: 'unmatched', runId, reason: `${runId}: the run has ended and its history is no longer kept` });
  });

  it('holds an event for a run recorded but not started yet (its start did not reach Temporal), until it is started', async () => {
    const po = newPo('NOT-STARTED');
    const { runId, startWorkflow } = await recordRunBehindTheApi(po, 60, NOT_STARTED);
    const early = (await send(receiptFor(po, 'GR-NS', 60))).body;
    expect(early).toMatchObject({ status: 'held', runId: null, heldFor: 'invoice-match', correlationKey: po });
    await stack.sweepEvents();
    expect((await eventById(early.eventId)).status).toBe('held');

    // A retry starts it after all (without the API here, so the sweep is what finds it).
    await startWorkflow();
    await markStarted(stack.db, runId);
    await stack.sweepEvents();
    expect(await eventById(early.eventId)).toMatchObject({ status: 'applied', runId });
    await waitForRunStatus(stack, runId, 'completed');
  });

  it('turns a held event unmatched with the reason once the hold window passes; an operator can route it once its run exists', async () => {
    const po = newPo('EXPIRED');
    const early = (await send(receiptFor(po, 'GR-X', 80))).body;
    expect(early.status).toBe('held');
    const holdUntil = Date.parse(early.holdUntil);
    expect(holdUntil - Date.parse(early.receivedAt)).toBeGreaterThanOrEqual(HOLD_WINDOW_MS);
    await stack.sweepEvents();
    expect((await eventById(early.eventId)).status).toBe('held');

    const expired = await waitUntil(
      async () => {
        await stack.sweepEvents();
        const event = await eventById(early.eventId);
        return event.status !== 'held' ? event : undefined;
      },
      'the hold window to pass',
    );
    expect(expired).toMatchObject({ status: 'unmatched', runId: null, heldFor: 'invoice-match', correlationKey: po });
    expect(expired.reason).toBe(`held until ${new Date(holdUntil).toISOString()} (EVENT_HOLD_WINDOW) for a invoice-match run with key ${po}; none started`);
    expect(Date.parse(expired.routedAt)).toBeGreaterThanOrEqual(holdUntil);
    expect((await getJson(`${stack.apiUrl}/events?status=unmatched&type=goods.received`)).body.items.map((e: { eventId: string }) => e.eventId)).toContain(early.eventId);

    // Unmatched is final: a run that starts later does not get it by itself...
    const invoice = await send(invoiceFor(po, 80));
    const runId: string = invoice.body.runId;
    await waitUntil(async () => (await stack.db.run.findUnique({ where: { id: runId } }))?.currentStep === 'awaiting-goods-receipt', 'the run to wait for receipts');
    await stack.sweepEvents();
    expect((await eventById(early.eventId)).status).toBe('unmatched');
    // ...an operator routes it.
    const routed = await postJson(`${stack.apiUrl}/events/${early.eventId}/route`, {});
    expect(routed.status).toBe(200);
    expect(routed.body).toMatchObject({ status: 'applied', runId });
    await waitForRunStatus(stack, runId, 'completed');
    expect((await postJson(`${stack.apiUrl}/events/${early.eventId}/route`, {})).status).toBe(409);
  });
});
