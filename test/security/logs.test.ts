import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../lib/webhook-signature.js';
import { approvers, capexInput } from '../support/fixtures.js';
import { ConsoleClient } from '../support/console-client.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * What the logs of a real run contain. The API runs in this process on the project's logger (lib/logger.ts, with
 * the app's pino-http) at trace level into a buffer; the worker is worker/main.ts as a child process at debug
 * level, its stdout and stderr captured. A full run goes through every way a secret enters the system; then the
 * output is searched for every key, token and secret the test made or saw.
 */
describe('no secret reaches the logs', () => {
  let stack: Stack;
  const apiLog: string[] = [];
  const workerLog: string[] = [];
  /** name → value of everything that must never be logged. */
  const secrets = new Map<string, string>();
  let receiver: { url: string; seen: Array<Record<string, string | string[] | undefined>>; close(): Promise<void> };

  beforeAll(async () => {
    stack = await startStack({ worker: 'none', logLevel: 'trace', logDestination: { write: (line: string) => void apiLog.push(line) } });
    await stack.startWorkerProcess({ env: { LOG_LEVEL: 'debug' }, onOutput: (text) => void workerLog.push(text) });
    const seen: Array<Record<string, string | string[] | undefined>> = [];
    // Refuses its first delivery, so the worker logs a failed activity (whose message names the URL).
    const server: Server = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.writeHead(seen.length === 1 ? 503 : 204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const urlToken = randomBytes(24).toString('base64url');
    secrets.set('receiver URL token', urlToken);
    receiver = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks?token=${urlToken}`, seen, close: () => new Promise((r) => server.close(() => r())) };
  });
  afterAll(async () => {
    await receiver?.close();
    await stack?.stop();
  });

  const parsedApiLines = () => apiLog.flatMap((line) => line.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, any>);

  it('a full run (capex started, approved by link, console sign-in, webhook subscription, signed event) logs no key, token or secret', async () => {
    secrets.set('admin key', stack.adminKey);
    // opk_<12-character id>_<43-character secret>; the secret itself may contain '_'.
    const secretPart = (key: string) => key.slice('opk_'.length + 13);
    secrets.set('admin key secret part', secretPart(stack.adminKey));
    stack.config.TOKEN_SECRETS.forEach((key, i) => secrets.set(`TOKEN_SECRETS key ${i + 1}`, key));
    secrets.set('ats event secret', stack.eventSecrets.ats);
    const starter = await stack.createKey('alex.rivera@example.com', ['runs:start:capex', 'runs:read']);
    secrets.set('starter key', starter);
    secrets.set('starter key secret part', secretPart(starter));

    // A webhook subscription with its own secret, posted with the key in X-API-Key.
    const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
    secrets.set('webhook secret', webhookSecret);
    const subscribed = await postJson(`${stack.apiUrl}/webhooks`, { url: receiver.url, eventTypes: ['*'], secret: webhookSecret }, { authorization: '', 'x-api-key': stack.adminKey });
    expect(subscribed.status).toBe(201);

    // The run, started with a bearer key; one wrong key on the way.
    const wrong = starter.replace(/_[^_]+$/, `_${randomBytes(32).toString('base64url')}`);
    secrets.set('a wrong key', secretPart(wrong));
    expect((await getJson(`${stack.apiUrl}/runs`, { authorization: `Bearer ${wrong}` })).status).toBe(401);
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title: 'Logged run', amount: 2_500 }) }, { authorization: `Bearer ${starter}` });
    expect(started.status).toBe(201);
    const runId = started.body.runId as string;

    // Approved by link, opened first as a mail scanner would.
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: /Logged run/ });
    secrets.set('approval token', link.split('/approvals/')[1]!);
    expect((await fetch(link)).status).toBe(200);

    // The console: sign in, look at the run, sign out.
    const browser = new ConsoleClient(stack.apiUrl);
    const signIn = await browser.signIn(stack.adminKey);
    expect(signIn.status).toBe(303);
    secrets.set('console session cookie', browser.cookies.get('opsflow_session')!);
    expect((await browser.get(`/ops/runs/${runId}`)).status).toBe(200);
    secrets.set('console CSRF token', browser.lastCsrfToken!);
    expect((await browser.post('/ops/logout', {})).status).toBe(303);

    expect((await submitDecision(link, 'approve', 'Logged decision')).status).toBe(200);
    await waitForRunStatus(stack, runId, 'completed');

    // A signed inbound event.
    const body = JSON.stringify({ type: 'offer.withdrawn', data: { reference: 'nothing' } });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = signWebhook(stack.eventSecrets.ats, 'msg_logged', timestamp, body);
    secrets.set('inbound webhook-signature', signature.slice(3));
    const event = await fetch(`${stack.apiUrl}/events/ats`, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': 'msg_logged', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature }, body });
    expect(event.status).toBe(202);

    // Every lifecycle event delivered (the first after a 503): the worker has logged its failure by then.
    await waitUntil(async () => {
      const log = await getJson(`${stack.apiUrl}/webhooks/${subscribed.body.id}/deliveries?runId=${runId}`);
      return log.body.items.length >= 4 && log.body.items.every((d: { status: string }) => d.status === 'delivered');
    }, 'every delivery to arrive', 40_000);
    for (const headers of receiver.seen) secrets.set(`outbound signature ${headers['webhook-id']}`, String(headers['webhook-signature']).slice(3));
    await waitUntil(async () => /"activityType":"deliverWebhook".*"msg":"Activity failed"/.test(workerLog.join('')) || undefined, 'the worker to log the failed delivery');
    // Temporal's histories are shown in its UI: the failure message there names the receiver without its query.
    // Payloads (activity inputs and results) are bytes of JSON: read them as text.
    const histories = JSON.stringify(
      [await stack.temporal.workflow.getHandle(runId).fetchHistory(), await stack.temporal.workflow.getHandle(`webhooks:${subscribed.body.id}:${runId}`).fetchHistory()],
      (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value),
    );
    expect(histories).toMatch(/Webhook run\.started to http:\/\/127\.0\.0\.1:\d+\/hooks: receiver answered 503/);

    const output = apiLog.join('') + workerLog.join('');
    // The logs are real and detailed: requests with routes, the worker's activity failure with the receiver's path.
    expect(output).toContain('"url":"/ops/login"');
    expect(output).toContain('"url":"/approvals/[token]"');
    expect(workerLog.join('')).toContain('worker started');
    const leaked = [...secrets].filter(([, value]) => output.includes(value)).map(([name]) => name);
    expect(leaked).toEqual([]);
    expect([...secrets].filter(([, value]) => histories.includes(value)).map(([name]) => name)).toEqual([]);
  });

  it('logs each request that sets a cookie or takes a secret with method, URL and status only: no headers', () => {
    const lines = parsedApiLines().filter((l) => l.req);
    const routes: Array<[string, RegExp]> = [
      ['GET', /^\/ops\/login$/], // sets the sign-in form's cookie
      ['POST', /^\/ops\/login$/], // takes the key, sets the session cookie
      ['GET', /^\/ops\/runs\/capex-/], // sends the session cookie
      ['POST', /^\/ops\/logout$/], // clears it
      ['POST', /^\/webhooks$/], // takes a webhook secret (X-API-Key)
      ['POST', /^\/runs$/], // bearer key
      ['GET', /^\/runs$/], // a wrong bearer key (401)
      ['GET', /^\/approvals\/\[token\]$/], // token in the path
      ['POST', /^\/approvals\/\[token\]$/],
      ['POST', /^\/events\/ats$/], // signed with a source secret
    ];
    for (const [method, url] of routes) {
      const line = lines.find((l) => l.req.method === method && url.test(l.req.url) && l.res);
      expect(line, `${method} ${url}`).toBeDefined();
      expect(Object.keys(line!.req).sort(), `${method} ${url}`).toEqual(['id', 'method', 'url']);
      expect(Object.keys(line!.res), `${method} ${url}`).toEqual(['statusCode']);
    }
    expect(lines.find((l) => l.req.method === 'POST' && l.req.url === '/ops/login')!.res).toEqual({ statusCode: 303 });
    expect(apiLog.join('')).not.toMatch(/set-cookie|"cookie"|authorization|x-api-key|webhook-signature/i);
  });
});
