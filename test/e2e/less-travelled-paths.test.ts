import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../lib/webhook-signature.js';
import { approvers } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * Steps most runs skip, run for real: a hire above its salary band goes past finance, and an invoice whose goods
 * receipts fall short at the deadline goes to a finance director. Their histories are golden histories too, so
 * replay and the process diagrams cover these steps.
 */
describe('the steps most runs skip', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('a hire above the band needs finance between the department head and the HR business partner', async () => {
    const manager = { name: 'Avery Kim', email: 'avery.kim@example.com' };
    const input = {
      role: 'Staff Engineer',
      department: 'Engineering',
      level: 'L4',
      location: 'Berlin',
      salaryRange: { min: 100_000, max: 120_000, currency: 'EUR' },
      headcountJustification: 'The platform team needs a senior engineer to own the migration.',
      hiringManager: manager,
      requester: manager,
    };
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'hiring', input, settings: { approval: { reminderAfter: '1h', timeout: '2h' } } });
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;
    for (const approver of ['taylor.brooks@example.com', approvers.financeDirector, 'jamie.ortiz@example.com']) {
      const { mail, link } = await waitForApprovalMail(stack, approver, { subject: /Staff Engineer/ });
      if (approver === approvers.financeDirector) expect(mail.text).toContain('above the L4 band');
      expect((await submitDecision(link, 'approve')).status).toBe(200);
    }
    await waitUntil(async () => (await getJson(`${stack.apiUrl}/runs/${runId}`)).body.currentStep === 'awaiting-offer' || undefined, 'the requisition to open');
    expect((await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'Position frozen' })).status).toBe(202);
    await waitForRunStatus(stack, runId, 'cancelled');
  });

  it('receipts short of the invoice at the deadline go to a finance director, who releases the payment', async () => {
    // Invoice matches start from ERP events, so their timing is the policy's: shortened here for the test.
    const { body: current } = await getJson(`${stack.apiUrl}/processes/invoice-match/policy`);
    const policy = { ...current.policy, receiptTimeout: '3s', approval: { ...current.policy.approval, reminderAfter: '1h', timeout: '2h' } };
    const saved = await fetch(`${stack.apiUrl}/processes/invoice-match/policy`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.adminKey}` },
      body: JSON.stringify({ policy, reason: 'Test: receipts due within seconds' }),
    });
    expect(saved.status).toBe(200);

    const po = `PO-SHORT-${randomUUID().slice(0, 8)}`;
    const send = async (type: string, data: Record<string, unknown>) => {
      const id = `msg_${randomUUID()}`;
      const body = JSON.stringify({ type, data });
      const timestamp = Math.floor(Date.now() / 1000);
      const response = await fetch(`${stack.apiUrl}/events/erp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(stack.eventSecrets.erp, id, timestamp, body) },
        body,
      });
      return (await response.json()) as { status: string; runId: string };
    };
    const invoice = await send('invoice.received', { invoiceNumber: 'INV-SHORT', poNumber: po, supplier: 'Acme', amount: 1_000, currency: 'EUR', buyer: { name: 'Alex Rivera', email: approvers.requester } });
    expect(invoice.status).toBe('started');
    await waitUntil(async () => (await send('goods.received', { poNumber: po, receiptId: 'GR-S1', amount: 400 })).status === 'applied' || undefined, 'the receipt to apply');

    const { mail, link } = await waitForApprovalMail(stack, approvers.financeDirector, { subject: /INV-SHORT/ });
    expect(mail.text).toContain('400.00 EUR');
    expect((await submitDecision(link, 'approve', 'Rest arrives next week; supplier is reliable')).status).toBe(200);
    const run = await waitForRunStatus(stack, invoice.runId, 'completed');
    expect(run.outcome).toBe('released');
  });
});
