import { lookup as dnsLookup } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LookupFunction } from '../../lib/egress.js';
import { newWebhookSecret } from '../../lib/outbound-webhooks.js';
import { capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * SSRF through webhooks: every class of internal address is refused when subscribing (422 on `url`, saying why)
 * and again when delivering (the address the socket would connect to), so a subscription made before the policy,
 * or a name that resolves elsewhere later, reaches nothing. A "bait" server listening on every loopback address
 * counts what gets through: it must stay at zero.
 */

interface CountingServer {
  port: number;
  requests: string[];
  close(): Promise<void>;
}

async function listen(host: string, answer: (path: string) => { status: number; headers?: Record<string, string> }): Promise<CountingServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '');
    req.resume();
    const { status, headers } = answer(req.url ?? '');
    res.writeHead(status, headers).end();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Names this test controls: two always internal, one that resolves publicly until the test "rebinds" it to 127.0.0.1. */
const mapped = new Map<string, string>([
  ['internal.opsflow.test', '10.0.0.5'],
  ['loopback.opsflow.test', '127.0.0.1'],
  ['rebind.opsflow.test', '93.184.215.14'],
]);
const mappedLookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
  const address = mapped.get(hostname);
  if (!address) return dnsLookup(hostname, options as never, callback as never);
  if (options.all) callback(null, [{ address, family: isIP(address) }]);
  else callback(null, address, isIP(address));
}) as unknown as LookupFunction;

describe('egress policy for webhooks (SSRF)', () => {
  let stack: Stack;
  // Dual-stack on every address: 127.0.0.1, ::1, ::ffff:127.0.0.1 and 0.0.0.0 all reach it if anything lets them.
  let bait: CountingServer;
  let receiver: CountingServer;
  let redirectTarget: CountingServer;
  let redirector: CountingServer;

  beforeAll(async () => {
    bait = await listen('::', () => ({ status: 200 }));
    receiver = await listen('127.0.0.1', () => ({ status: 204 }));
    redirectTarget = await listen('127.0.0.1', () => ({ status: 204 }));
    redirector = await listen('127.0.0.1', () => ({ status: 307, headers: { location: `http://127.0.0.1:${redirectTarget.port}/stolen` } }));
    const allowed = [receiver.port, redirectTarget.port, redirector.port].map((port) => `127.0.0.1:${port}`).join(',');
    stack = await startStack({ webhookAllowedHosts: allowed, egressLookup: mappedLookup });
  });
  afterAll(async () => {
    await stack?.stop();
    await Promise.all([bait, receiver, redirectTarget, redirector].map((s) => s?.close()));
  });

  const internalTargets = (): Array<[string, string, RegExp]> => [
    ['loopback', `http://127.0.0.1:${bait.port}/hook`, /127\.0\.0\.1 is a loopback address/],
    ['loopback as a decimal number', `http://2130706433:${bait.port}/hook`, /127\.0\.0\.1 is a loopback address/],
    ['loopback in hex', `http://0x7f000001:${bait.port}/hook`, /127\.0\.0\.1 is a loopback address/],
    ['IPv6 loopback', `http://[::1]:${bait.port}/hook`, /::1 is a loopback address/],
    ['IPv4-mapped IPv6 loopback', `http://[::ffff:127.0.0.1]:${bait.port}/hook`, /::ffff:7f00:1 is an IPv4-mapped IPv6 address/],
    ['unspecified (reaches this host)', `http://0.0.0.0:${bait.port}/hook`, /0\.0\.0\.0 is the unspecified address/],
    ['private 10/8 (a database port)', 'http://10.0.0.5:5432/', /10\.0\.0\.5 is a private address/],
    ['private 172.16/12', 'http://172.16.0.1/', /private address/],
    ['private 192.168/16', 'https://192.168.1.10/', /private address/],
    ['link-local cloud metadata', 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local address/],
    ['IPv6 link-local', 'http://[fe80::1]/', /link-local address/],
    ['IPv6 unique-local', 'http://[fd00::1]/', /unique-local address/],
    ['multicast', 'http://224.0.0.1/', /multicast address/],
    ['carrier-grade NAT (Alibaba metadata)', 'http://100.100.100.200/latest/meta-data/', /carrier-grade NAT/],
    ['metadata by name', 'http://metadata.google.internal/computeMetadata/v1/', /metadata\.google\.internal is a cloud metadata service/],
    ['a name resolving to 127.0.0.1 (localhost)', `http://localhost:${bait.port}/hook`, /localhost is a loopback name/],
    ['a name resolving to a private address', 'http://internal.opsflow.test/hook', /internal\.opsflow\.test resolves to 10\.0\.0\.5, a private address/],
    ['a name resolving to 127.0.0.1', `http://loopback.opsflow.test:${bait.port}/hook`, /loopback\.opsflow\.test resolves to 127\.0\.0\.1, a loopback address/],
  ];

  it('refuses every internal target class at subscribe time with a 422 on `url` that says why', async () => {
    for (const [what, url, reason] of internalTargets()) {
      const answer = await postJson(`${stack.apiUrl}/webhooks`, { url, eventTypes: ['*'] });
      expect(answer.status, what).toBe(422);
      expect(answer.body.error.details.issues, what).toHaveLength(1);
      expect(answer.body.error.details.issues[0].path, what).toBe('url');
      expect(answer.body.error.details.issues[0].message, what).toMatch(/^refused by egress policy: /);
      expect(answer.body.error.details.issues[0].message, what).toMatch(reason);
    }
    expect(await stack.db.webhookSubscription.count()).toBe(0);
    // Allowed: a host on WEBHOOK_ALLOWED_HOSTS, and a name that resolves to a public address.
    expect((await postJson(`${stack.apiUrl}/webhooks`, { url: `http://127.0.0.1:${receiver.port}/ok`, eventTypes: ['run.started'] })).status).toBe(201);
    expect(bait.requests).toEqual([]);
  });

  it('refuses them again at delivery (subscriptions stored before the policy) and logs only "refused by egress policy"', async () => {
    const targets = [...internalTargets().map(([, url]) => url), 'http://127.0.0.1:1/closed-port'];
    const subscriptionIds: string[] = [];
    for (const [index, url] of targets.entries()) {
      const id = `whk_legacy${String(index).padStart(10, '0')}`;
      await stack.db.webhookSubscription.create({ data: { id, url, eventTypes: ['run.started'], secret: newWebhookSecret(), createdBy: 'before-the-policy' } });
      subscriptionIds.push(id);
    }
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Egress at delivery', amount: 2_500 }), settings: quickTiming });
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;

    const refused = await waitUntil(async () => {
      const rows = await stack.db.webhookDelivery.findMany({ where: { runId, subscriptionId: { in: subscriptionIds } }, include: { attemptLog: true } });
      return rows.length === targets.length && rows.every((d) => d.status === 'failed') ? rows : undefined;
    }, 'every internal delivery to fail', 30_000);
    for (const delivery of refused) {
      // One attempt each (not retried for a day), and the same record for an open port and a closed one.
      expect(delivery.attemptLog.map((a) => ({ statusCode: a.statusCode, error: a.error, durationMs: a.durationMs })), delivery.subscriptionId).toEqual([
        { statusCode: null, error: 'refused by egress policy', durationMs: 0 },
      ]);
      expect(delivery.lastError).toBe('refused by egress policy');
    }
    // The allowlisted receiver got the same event, so deliveries were really attempted.
    await waitUntil(async () => receiver.requests.length > 0 || undefined, 'the allowed receiver to get run.started');
    expect(bait.requests).toEqual([]);

    // A manual redelivery answers just as little: no status, no timing, no reason.
    const loopback = refused.find((d) => d.subscriptionId === subscriptionIds[0])!;
    const again = await postJson(`${stack.apiUrl}/webhooks/${loopback.subscriptionId}/deliveries/${loopback.id}/redeliver`, {});
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ delivered: false, statusCode: null, error: 'refused by egress policy' });
    expect(again.body.delivery.attemptLog.map((a: { durationMs: number }) => a.durationMs)).toEqual([0, 0]);
    const log = await getJson(`${stack.apiUrl}/webhooks/${loopback.subscriptionId}/deliveries`);
    expect(JSON.stringify(log.body)).not.toMatch(/127\.0\.0\.1|loopback|ECONNREFUSED/);
    expect(bait.requests).toEqual([]);
  });

  it('checks the address at connection time: a name that rebinds to 127.0.0.1 after subscribing reaches nothing', async () => {
    const created = await postJson(`${stack.apiUrl}/webhooks`, { url: `http://rebind.opsflow.test:${bait.port}/hook`, eventTypes: ['run.started'] });
    expect(created.status).toBe(201);
    mapped.set('rebind.opsflow.test', '127.0.0.1');

    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'After the rebinding', amount: 2_500 }), settings: quickTiming });
    const delivery = await waitUntil(async () => {
      const row = await stack.db.webhookDelivery.findFirst({ where: { runId: started.body.runId, subscriptionId: created.body.id }, include: { attemptLog: true } });
      return row?.status === 'failed' ? row : undefined;
    }, 'the rebound delivery to fail');
    expect(delivery.attemptLog.map((a) => [a.statusCode, a.error])).toEqual([[null, 'refused by egress policy']]);
    const again = await postJson(`${stack.apiUrl}/webhooks/${created.body.id}/deliveries/${delivery.id}/redeliver`, {});
    expect(again.body).toMatchObject({ delivered: false, statusCode: null, error: 'refused by egress policy' });
    expect(bait.requests).toEqual([]);
  });

  it('never follows a redirect, even to an allowed host', async () => {
    const created = await postJson(`${stack.apiUrl}/webhooks`, { url: `http://127.0.0.1:${redirector.port}/hook`, eventTypes: ['run.started'] });
    expect(created.status).toBe(201);
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Redirected receiver', amount: 2_500 }), settings: quickTiming });
    const attempt = await waitUntil(async () => {
      const row = await stack.db.webhookDelivery.findFirst({ where: { runId: started.body.runId, subscriptionId: created.body.id }, include: { attemptLog: true } });
      return row?.attemptLog[0];
    }, 'the first attempt to the redirector');
    expect(attempt).toMatchObject({ statusCode: 307, error: 'receiver answered 307' });
    expect(redirector.requests.length).toBeGreaterThan(0);
    expect(redirectTarget.requests).toEqual([]);
  });
});
