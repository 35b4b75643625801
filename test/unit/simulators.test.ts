import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulators, type Simulators } from '../../dev/simulators/server.js';
import { verifyWebhook } from '../../lib/webhook-signature.js';

let sims: Simulators;

beforeAll(async () => {
  sims = await startSimulators({ port: 0, latencyMs: [0, 0] });
});
afterAll(async () => {
  await sims.close();
});

interface CallOptions {
  body?: unknown;
  key?: string | null;
  idempotencyKey?: string;
}

async function call(method: string, path: string, options: CallOptions = {}) {
  const system = path.split('/')[1]!;
  const key = options.key === undefined ? `dev-${system}-key` : options.key;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const response = await fetch(`${sims.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  const json: any = text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  return { status: response.status, headers: response.headers, body: json };
}

const create = (path: string, body: unknown, idempotencyKey = randomUUID()) => call('POST', path, { body, idempotencyKey });

/** Same key and body replay the first answer; same key, other body is a 422. */
async function expectIdempotent(path: string, body: Record<string, unknown>, idField: string, otherBody: Record<string, unknown>) {
  const key = randomUUID();
  const first = await create(path, body, key);
  expect(first.status).toBe(201);
  const replay = await create(path, body, key);
  expect(replay.status).toBe(201);
  expect(replay.headers.get('idempotent-replayed')).toBe('true');
  expect(replay.body[idField]).toBe(first.body[idField]);
  const reused = await create(path, otherBody, key);
  expect(reused.status).toBe(422);
  expect(reused.body.error.code).toBe('idempotency_key_reused');
  return first.body;
}

function expectIssue(response: { status: number; body: any }, path: string) {
  expect(response.status).toBe(422);
  expect(response.body.error.code).toBe('validation_failed');
  expect(response.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
}

const expectNotFound = (response: { status: number; body: any }) => {
  expect(response.status).toBe(404);
  expect(response.body.error.code).toBe('not_found');
};

describe('controls', () => {
  it('needs each system its own key', async () => {
    expect((await call('GET', '/hris/salary-bands/L3', { key: null })).status).toBe(401);
    expect((await call('GET', '/hris/salary-bands/L3', { key: 'wrong' })).status).toBe(401);
    expect((await call('GET', '/hris/salary-bands/L3', { key: 'dev-erp-key' })).status).toBe(401);
    expect((await call('GET', '/erp/budgets/ENG-100', { key: 'dev-hris-key' })).status).toBe(401);
    for (const path of ['/erp/budgets/ENG-100', '/hris/salary-bands/L3', '/ats/requisitions', '/screening/checks', '/it/accounts']) {
      expect((await call('GET', path)).status).toBe(200);
    }
    expect((await call('GET', '/esign/envelopes/ENV-99999', { key: 'dev-it-key' })).status).toBe(401);
  });

  it('accepts configured keys, and apiKey as the ERP key', async () => {
    const custom = await startSimulators({ port: 0, latencyMs: [0, 0], apiKey: 'legacy-erp', apiKeys: { hris: 'h-secret' } });
    try {
      const get = (path: string, key: string) => fetch(`${custom.url}${path}`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
      expect(await get('/erp/budgets/ENG-100', 'legacy-erp')).toBe(200);
      expect(await get('/erp/budgets/ENG-100', 'dev-erp-key')).toBe(401);
      expect(await get('/hris/salary-bands/L1', 'h-secret')).toBe(200);
      expect(await get('/hris/salary-bands/L1', 'dev-hris-key')).toBe(401);
      expect(await get('/ats/requisitions', 'dev-ats-key')).toBe(200);
    } finally {
      await custom.close();
    }
  });

  it('returns a queued 429 with Retry-After', async () => {
    const queued = await fetch(`${sims.url}/_control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ system: 'hris', fail: 1, status: 429, retryAfterSeconds: 2 }),
    });
    expect(queued.status).toBe(201);
    const limited = await call('GET', '/hris/salary-bands/L2');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect((await call('GET', '/hris/salary-bands/L2')).status).toBe(200);
  });

  it('requires an Idempotency-Key on creates', async () => {
    const response = await call('POST', '/it/accounts', { body: { employeeId: 'EMP-1', name: 'A B', workEmail: 'a.b@example.com', systems: ['slack'] } });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('idempotency_key_required');
  });
});

describe('ERP', () => {
  const vendor = (overrides: Record<string, unknown> = {}) => ({
    reference: `ref-${randomUUID()}`,
    legalName: 'Acme Tools GmbH',
    country: 'DE',
    taxId: `tax-${randomUUID()}`,
    vatNumber: 'DE123456789',
    address: { line1: 'Hauptstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
    bank: { accountHolder: 'Acme Tools GmbH', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
    category: 'tools',
    contactEmail: 'ap@acme.example',
    ...overrides,
  });

  it('creates, reads, lists and blocks vendors', async () => {
    const body = vendor();
    const created = await expectIdempotent('/erp/vendors', body, 'vendorId', { ...body, legalName: 'Other' });
    expect(created).toMatchObject({ status: 'active', legalName: 'Acme Tools GmbH' });
    expect(created.vendorId).toMatch(/^V-\d{6}$/);
    expect((await call('GET', `/erp/vendors/${created.vendorId}`)).body).toEqual(created);
    expect((await call('GET', `/erp/vendors?reference=${body.reference}`)).body.items).toEqual([created]);

    const blocked = await call('POST', `/erp/vendors/${created.vendorId}/block`, { body: { reason: 'sanctions hit' } });
    expect(blocked.body).toMatchObject({ status: 'blocked', blockedReason: 'sanctions hit' });
    const again = await call('POST', `/erp/vendors/${created.vendorId}/block`, { body: { reason: 'other' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'blocked', blockedReason: 'sanctions hit' });
  });

  it('refuses a duplicate vendor, a bad body and unknown ids', async () => {
    const first = await create('/erp/vendors', vendor({ taxId: 'DUP-1' }));
    const duplicate = await create('/erp/vendors', vendor({ taxId: 'DUP-1' }));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('conflict');
    expect(duplicate.body.error.message).toContain(first.body.vendorId);

    expectIssue(await create('/erp/vendors', vendor({ country: 'Germany' })), 'country');
    expectIssue(await create('/erp/vendors', vendor({ address: { line1: 'x', city: 'y', postalCode: 'z' } })), 'address.country');
    expectNotFound(await call('GET', '/erp/vendors/V-999999'));
    expectNotFound(await call('POST', '/erp/vendors/V-999999/block', { body: { reason: 'x' } }));
  });

  it('answers budgets from the seed', async () => {
    expect((await call('GET', '/erp/budgets/FIN-200')).body).toMatchObject({ costCenter: 'FIN-200', currency: 'EUR', budget: 400_000, committed: 390_000, available: 10_000 });
    expectNotFound(await call('GET', '/erp/budgets/XXX-1'));
  });

  it('still creates purchase orders', async () => {
    const body = { reference: `po-${randomUUID()}`, vendor: 'Acme', description: 'Drill', amount: 1200, currency: 'EUR', costCenter: 'OPS-300', category: 'tools', requestedBy: 'a@example.com' };
    const order = await expectIdempotent('/erp/purchase-orders', body, 'poNumber', { ...body, amount: 1 });
    expect(sims.erp.findByReference(body.reference)).toEqual([order]);
  });
});

describe('HRIS', () => {
  const employee = (overrides: Record<string, unknown> = {}) => ({
    reference: `run-${randomUUID()}`,
    name: 'Noa Levi',
    personalEmail: 'noa@personal.example',
    jobTitle: 'Backend Engineer',
    department: 'Engineering',
    level: 'L4',
    location: 'Berlin',
    startDate: '2030-03-01',
    managerEmail: 'lead@example.com',
    salary: 90_000,
    currency: 'EUR',
    ...overrides,
  });

  it('answers the headcount plan and salary bands', async () => {
    expect((await call('GET', '/hris/headcount-plan/engineering')).body).toMatchObject({ department: 'Engineering', approved: 40, filled: 36, openRequisitions: 2, available: 2 });
    expect((await call('GET', '/hris/headcount-plan/Finance')).body).toMatchObject({ available: 0 });
    expect((await call('GET', '/hris/salary-bands/L5')).body).toEqual({ level: 'L5', currency: 'EUR', min: 105_000, max: 135_000 });
    expectNotFound(await call('GET', '/hris/headcount-plan/Marketing'));
    expectNotFound(await call('GET', '/hris/salary-bands/L9'));
  });

  it('reserves and releases a seat once', async () => {
    const reservation = await expectIdempotent('/hris/headcount-plan/operations/reservations', { reference: 'r-1' }, 'reservationId', { reference: 'r-2' });
    expect(reservation).toMatchObject({ department: 'Operations', reference: 'r-1' });
    expect((await call('GET', '/hris/headcount-plan/operations')).body).toMatchObject({ openRequisitions: 2, available: 0 });
    for (let i = 0; i < 2; i++) expect((await call('POST', `/hris/reservations/${reservation.reservationId}/release`)).status).toBe(200);
    expect((await call('GET', '/hris/headcount-plan/operations')).body).toMatchObject({ openRequisitions: 1, available: 1 });
    expectNotFound(await call('POST', '/hris/reservations/RES-99999/release'));
    expectNotFound(await create('/hris/headcount-plan/marketing/reservations', { reference: 'r' }));
  });

  it('creates, reads and withdraws employees', async () => {
    const body = employee({ name: 'Zoë Müller-Smith' });
    const created = await expectIdempotent('/hris/employees', body, 'employeeId', { ...body, salary: 1 });
    expect(created).toMatchObject({ status: 'pending_start', workEmail: 'zoe.mullersmith@example.com' });
    expect(created.employeeId).toMatch(/^EMP-\d{6}$/);
    expect(Number(created.employeeId.slice(4))).toBeGreaterThanOrEqual(101);
    expect((await call('GET', `/hris/employees/${created.employeeId}`)).body).toEqual(created);
    expect((await call('GET', `/hris/employees?reference=${body.reference}`)).body.items).toEqual([created]);

    for (let i = 0; i < 2; i++) {
      const withdrawn = await call('POST', `/hris/employees/${created.employeeId}/withdraw`, { body: { reason: 'offer withdrawn' } });
      expect(withdrawn.status).toBe(200);
      expect(withdrawn.body).toMatchObject({ status: 'withdrawn', withdrawnReason: 'offer withdrawn' });
    }
    expectIssue(await create('/hris/employees', employee({ startDate: 'next monday' })), 'startDate');
    expectNotFound(await call('GET', '/hris/employees/EMP-999999'));
  });
});

describe('ATS', () => {
  const requisition = (overrides: Record<string, unknown> = {}) => ({
    reference: `run-${randomUUID()}`,
    title: 'Backend Engineer',
    department: 'Engineering',
    level: 'L4',
    location: 'Berlin',
    salaryMin: 80_000,
    salaryMax: 100_000,
    currency: 'EUR',
    hiringManagerEmail: 'lead@example.com',
    closesOn: '2030-06-30',
    ...overrides,
  });

  it('opens, reads, lists and closes requisitions', async () => {
    const body = requisition();
    const created = await expectIdempotent('/ats/requisitions', body, 'requisitionId', { ...body, title: 'Other' });
    expect(created.requisitionId).toMatch(/^REQ-\d{4}$/);
    expect(created.status).toBe('open');
    expect((await call('GET', `/ats/requisitions/${created.requisitionId}`)).body).toEqual(created);
    expect((await call('GET', `/ats/requisitions?reference=${body.reference}`)).body.items).toEqual([created]);

    expectIssue(await call('POST', `/ats/requisitions/${created.requisitionId}/close`, { body: { reason: 'bored' } }), '');
    for (let i = 0; i < 2; i++) {
      const closed = await call('POST', `/ats/requisitions/${created.requisitionId}/close`, { body: { reason: i === 0 ? 'filled' : 'expired' } });
      expect(closed.status).toBe(200);
      expect(closed.body).toMatchObject({ status: 'closed', closeReason: 'filled' });
    }
    const late = await create(`/ats/requisitions/${created.requisitionId}/candidates`, { name: 'Late Comer', email: 'late@example.com' });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('conflict');
  });

  it('validates requisitions and candidates', async () => {
    expectIssue(await create('/ats/requisitions', requisition({ salaryMin: 120_000, salaryMax: 100_000 })), 'salaryMax');
    expectNotFound(await call('GET', '/ats/requisitions/REQ-9999'));
    expectNotFound(await call('GET', '/ats/candidates/CAND-9999'));
    expectNotFound(await create('/ats/requisitions/REQ-9999/candidates', { name: 'A', email: 'a@example.com' }));
  });

  describe('offer events', () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string; status: number }> = [];
    let failNext = 0;
    let receiver: Server;

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          const status = failNext > 0 ? 503 : 204;
          if (failNext > 0) failNext -= 1;
          received.push({ headers: req.headers, body, status });
          res.statusCode = status;
          res.end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      sims.ats.sendEventsTo({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events/ats`, secret });
    });
    afterAll(async () => {
      sims.ats.sendEventsTo(undefined);
      await new Promise((resolve) => receiver.close(resolve));
    });

    const verified = (delivery: (typeof received)[number]) =>
      verifyWebhook(secret, { id: String(delivery.headers['webhook-id']), timestamp: String(delivery.headers['webhook-timestamp']), signature: String(delivery.headers['webhook-signature']) }, delivery.body);

    it('sends a signed offer.accepted, retrying after a 503', async () => {
      const body = requisition();
      const req = (await create('/ats/requisitions', body)).body;
      const candidate = await expectIdempotent(`/ats/requisitions/${req.requisitionId}/candidates`, { name: 'Noa Levi', email: 'noa@example.com' }, 'candidateId', { name: 'X', email: 'x@example.com' });
      expect(candidate).toMatchObject({ requisitionId: req.requisitionId, status: 'applied' });
      expect(candidate.candidateId).toMatch(/^CAND-\d{4}$/);
      expect((await call('GET', `/ats/candidates/${candidate.candidateId}`)).body).toEqual(candidate);

      received.length = 0;
      failNext = 1;
      const offer = { startDate: '2030-03-01', salary: 95_000, currency: 'EUR' };
      expectIssue(await call('POST', `/ats/candidates/${candidate.candidateId}/accept-offer`, { body: { ...offer, startDate: 'soon' } }), 'startDate');
      const accepted = await call('POST', `/ats/candidates/${candidate.candidateId}/accept-offer`, { body: offer });
      expect(accepted.status).toBe(200);
      expect(accepted.body.status).toBe('offer_accepted');

      await expect.poll(() => received.length, { timeout: 5_000 }).toBe(2);
      expect(received.map((r) => r.status)).toEqual([503, 204]);
      for (const delivery of received) {
        expect(verified(delivery).id).toBe(`evt_offer_${candidate.candidateId}`);
        expect(delivery.headers['content-type']).toBe('application/json');
      }
      expect(JSON.parse(received[1]!.body)).toEqual({
        type: 'offer.accepted',
        data: { candidateId: candidate.candidateId, requisitionId: req.requisitionId, requisitionReference: body.reference, name: 'Noa Levi', email: 'noa@example.com', ...offer },
      });
      const deliveries = () => sims.ats.eventDeliveries().filter((d) => d.webhookId === `evt_offer_${candidate.candidateId}`);
      await expect.poll(() => deliveries().map((d) => d.status), { timeout: 5_000 }).toEqual([503, 204]);
      expect(deliveries()[0]!.url).toContain('/events/ats');

      received.length = 0;
      const withdrawn = await call('POST', `/ats/candidates/${candidate.candidateId}/withdraw`, { body: { reason: 'took another offer' } });
      expect(withdrawn.body.status).toBe('withdrawn');
      await expect.poll(() => received.length, { timeout: 5_000 }).toBe(1);
      expect(verified(received[0]!).id).toBe(`evt_withdrawn_${candidate.candidateId}`);
      expect(JSON.parse(received[0]!.body).type).toBe('offer.withdrawn');
      expect((await call('POST', `/ats/candidates/${candidate.candidateId}/accept-offer`, { body: offer })).status).toBe(409);
    });
  });
});

describe('screening', () => {
  it('clears a clean name and hits a listed one, an added one, and an embargoed country', async () => {
    const clear = await expectIdempotent('/screening/checks', { reference: 'v-1', name: 'Clean Freight GmbH', country: 'DE' }, 'checkId', { reference: 'v-1', name: 'Other', country: 'DE' });
    expect(clear).toMatchObject({ status: 'clear', matches: [] });
    expect(clear.checkId).toMatch(/^CHK-\d{5}$/);
    expect((await call('GET', `/screening/checks/${clear.checkId}`)).body).toEqual(clear);
    expect((await call('GET', '/screening/checks?reference=v-1')).body.items).toEqual([clear]);

    const hit = (await create('/screening/checks', { reference: 'v-2', name: 'PETROV-Trading, Ltd.', country: 'CY' })).body;
    expect(hit).toMatchObject({ status: 'hit', matches: [{ list: 'EU-CONSOLIDATED', name: 'petrov trading' }] });
    expect(hit.matches[0].score).toBeGreaterThanOrEqual(0.8);

    expect((await call('POST', '/screening/watchlist', { body: { name: 'Nordlicht Handels' } })).status).toBe(201);
    expect((await create('/screening/checks', { reference: 'v-3', name: 'Nordlicht Handels GmbH', country: 'DE' })).body.status).toBe('hit');

    const embargo = (await create('/screening/checks', { reference: 'v-4', name: 'Plain Name', country: 'IR' })).body;
    expect(embargo).toMatchObject({ status: 'hit', matches: [{ list: 'EMBARGO' }] });

    expectIssue(await create('/screening/checks', { reference: 'v-5', name: 'X', country: 'iran' }), 'country');
    expectNotFound(await call('GET', '/screening/checks/CHK-99999'));
  });
});

describe('e-signature', () => {
  const envelope = (overrides: Record<string, unknown> = {}) => ({
    reference: `run-${randomUUID()}`,
    documentName: 'Offer letter <Noa>',
    signer: { name: 'Noa "N" Levi', email: 'noa@example.com' },
    fields: { role: 'Backend <Engineer>', salary: 95_000 },
    ...overrides,
  });

  it('sends, signs by the API, and voids keeping signedAt', async () => {
    const body = envelope();
    const created = await expectIdempotent('/esign/envelopes', body, 'envelopeId', { ...body, documentName: 'Other' });
    expect(created).toMatchObject({ status: 'sent', signingUrl: `${sims.url}/esign/sign/${created.envelopeId}` });
    expect(created.envelopeId).toMatch(/^ENV-\d{5}$/);
    expect((await call('GET', `/esign/envelopes/${created.envelopeId}`)).body).toEqual(created);

    for (let i = 0; i < 2; i++) {
      const signed = await call('POST', `/esign/envelopes/${created.envelopeId}/sign`);
      expect(signed.status).toBe(200);
      expect(signed.body.status).toBe('signed');
    }
    const signedAt = sims.esign.envelopes().find((e) => e.envelopeId === created.envelopeId)!.signedAt;
    expect(signedAt).toBeTruthy();
    expect((await call('POST', `/esign/envelopes/${created.envelopeId}/decline`, { body: { reason: 'no' } })).status).toBe(409);
    for (let i = 0; i < 2; i++) {
      const voided = await call('POST', `/esign/envelopes/${created.envelopeId}/void`, { body: { reason: 'offer withdrawn' } });
      expect(voided.status).toBe(200);
      expect(voided.body).toMatchObject({ status: 'voided', signedAt });
    }
    expect((await call('POST', `/esign/envelopes/${created.envelopeId}/sign`)).status).toBe(409);
  });

  it('declines, validates and 404s', async () => {
    const created = (await create('/esign/envelopes', envelope())).body;
    for (let i = 0; i < 2; i++) {
      const declined = await call('POST', `/esign/envelopes/${created.envelopeId}/decline`, { body: { reason: 'changed my mind' } });
      expect(declined.status).toBe(200);
      expect(declined.body.status).toBe('declined');
    }
    expect((await call('POST', `/esign/envelopes/${created.envelopeId}/sign`)).status).toBe(409);
    expectIssue(await create('/esign/envelopes', envelope({ signer: { name: 'X', email: 'not-an-email' } })), 'signer.email');
    expectNotFound(await call('GET', '/esign/envelopes/ENV-99999'));
  });

  it('signs from the public page, escaping what it shows', async () => {
    const created = (await create('/esign/envelopes', envelope())).body;
    const page = await fetch(created.signingUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Offer letter &lt;Noa&gt;');
    expect(html).toContain('Backend &lt;Engineer&gt;');
    expect(html).toContain('Noa &quot;N&quot; Levi');
    expect(html).not.toContain('<Noa>');
    expect(html).toContain(`action="/esign/sign/${created.envelopeId}"`);

    const posted = await fetch(created.signingUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=sign' });
    expect(posted.status).toBe(200);
    expect(await posted.text()).toContain('Signed, thank you');
    expect((await call('GET', `/esign/envelopes/${created.envelopeId}`)).body.status).toBe('signed');
    expect((await fetch(`${sims.url}/esign/sign/ENV-99999`)).status).toBe(404);
  });
});

describe('IT provisioning', () => {
  it('creates and deactivates accounts idempotently', async () => {
    const employeeId = `EMP-${randomUUID()}`;
    const body = { employeeId, name: 'Noa Levi', workEmail: 'noa.levi@example.com', systems: ['google', 'slack'] };
    const account = await expectIdempotent('/it/accounts', body, 'accountId', { ...body, systems: ['slack'] });
    expect(account).toMatchObject({ status: 'active', username: 'noa.levi' });
    expect(account.accountId).toMatch(/^ACC-\d{5}$/);
    expect((await call('GET', `/it/accounts?employeeId=${employeeId}`)).body.items).toEqual([account]);

    const first = await call('POST', `/it/accounts/${account.accountId}/deactivate`);
    const second = await call('POST', `/it/accounts/${account.accountId}/deactivate`);
    expect(first.body).toMatchObject({ status: 'deactivated' });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);

    expectIssue(await create('/it/accounts', { ...body, systems: [] }), 'systems');
    expectNotFound(await call('POST', '/it/accounts/ACC-99999/deactivate'));
  });

  it('orders, cancels idempotently, and refuses to cancel a delivered order', async () => {
    const employeeId = `EMP-${randomUUID()}`;
    const body = {
      employeeId,
      items: [{ sku: 'MBP-14', description: 'Laptop', quantity: 1 }],
      shipTo: { name: 'Noa Levi', line1: 'Hauptstr. 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
    };
    const order = await expectIdempotent('/it/equipment-orders', body, 'orderId', { ...body, items: [{ sku: 'X', description: 'Y', quantity: 2 }] });
    expect(order.orderId).toMatch(/^EQ-\d{5}$/);
    expect(order.status).toBe('ordered');
    for (let i = 0; i < 2; i++) {
      const cancelled = await call('POST', `/it/equipment-orders/${order.orderId}/cancel`);
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.status).toBe('cancelled');
    }
    expect((await call('GET', `/it/equipment-orders?employeeId=${employeeId}`)).body.items).toEqual([expect.objectContaining({ status: 'cancelled' })]);

    const other = (await create('/it/equipment-orders', body)).body;
    expect((await call('POST', `/it/equipment-orders/${other.orderId}/deliver`)).body.status).toBe('delivered');
    const refused = await call('POST', `/it/equipment-orders/${other.orderId}/cancel`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('conflict');

    expectIssue(await create('/it/equipment-orders', { ...body, items: [{ sku: 'A', description: 'B', quantity: 0 }] }), 'items.0.quantity');
    expectNotFound(await call('POST', '/it/equipment-orders/EQ-99999/cancel'));
  });
});
