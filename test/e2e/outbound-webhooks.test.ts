import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, submitDecision, waitForApprovalMail, waitForRunStatus, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

interface Received {
  id: string;
  type: string;
  runId: string;
  verified: boolean;
}

/** A subscriber that refuses its first `failFirst` requests with 503, then accepts and keeps what it got. */
async function startReceiver(failFirst: number) {
  let requests = 0;
  const accepted: Received[] = [];
  let secret = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests += 1;
      if (requests <= failFirst) return void res.writeHead(503).end('busy');
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = true;
      try {
        // A receiver checks with the official Standard Webhooks library, as a subscriber's own code would.
        new Webhook(secret).verify(body, req.headers as Record<string, string>);
      } catch {
        verified = false;
      }
      const event = JSON.parse(body) as { type: string; data: { runId: string } };
      accepted.push({ id: req.headers['webhook-id'] as string, type: event.type, runId: event.data.runId, verified });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/opsflow`,
    accepted,
    requests: () => requests,
    useSecret: (value: string) => {
      secret = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('outbound webhooks', () => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    stack = await startStack();
    receiver = await startReceiver(2);
  });
  afterAll(async () => {
    await receiver?.close();
    await stack?.stop();
  });

  it('refuses a bad subscription with field errors', async () => {
    const answer = await postJson(`${stack.apiUrl}/webhooks`, { url: 'ftp://example.com', eventTypes: ['run.exploded'], process: 'nope' });
    expect(answer.status).toBe(422);
    expect(answer.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['eventTypes.0', 'process', 'url']);
  });

  it('delivers every lifecycle event of a run, signed and in order, retrying a failing receiver, with a delivery log', async () => {
    const created = await postJson(`${stack.apiUrl}/webhooks`, { url: receiver.url, eventTypes: ['*'], description: 'test receiver' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    receiver.useSecret(created.body.secret);
    const listed = await getJson(`${stack.apiUrl}/webhooks`);
    expect(listed.body.items[0]).not.toHaveProperty('secret');

    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ amount: 4_000 }), settings: quickTiming });
    expect(started.status).toBe(201);
    const runId: string = started.body.runId;
    const mail = await waitForApprovalMail(stack, 'morgan.lee@example.com');
    await submitDecision(mail.link, 'approve', 'fine');
    await waitForRunStatus(stack, runId, 'completed');

    const expected = ['run.started', 'approval.requested', 'approval.decided', 'run.completed'];
    await waitUntil(async () => receiver.accepted.filter((e) => e.runId === runId).length >= expected.length || undefined, 'all events delivered', 30_000);
    const received = receiver.accepted.filter((e) => e.runId === runId);
    expect(received.map((e) => e.type)).toEqual(expected);
    expect(received.every((e) => e.verified)).toBe(true);
    expect(new Set(received.map((e) => e.id)).size).toBe(expected.length);

    const log = await getJson(`${stack.apiUrl}/webhooks/${created.body.id}/deliveries?runId=${runId}`);
    expect(log.status).toBe(200);
    const byType = Object.fromEntries(log.body.items.map((d: { eventType: string }) => [d.eventType, d]));
    expect(byType['run.started'].status).toBe('delivered');
    expect(byType['run.started'].attemptLog.map((a: { statusCode: number }) => a.statusCode)).toEqual([503, 503, 204]);
    expect(byType['run.completed'].attemptLog).toHaveLength(1);
    expect(byType['run.completed'].payload).toMatchObject({ type: 'run.completed', data: { runId, process: 'capex', status: 'completed' } });

    // A manual redelivery sends the same event id again, and the log says it was manual.
    const again = await postJson(`${stack.apiUrl}/webhooks/${created.body.id}/deliveries/${byType['run.completed'].id}/redeliver`, {});
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ delivered: true, statusCode: 204 });
    expect(again.body.delivery.attemptLog.map((a: { trigger: string }) => a.trigger)).toEqual(['automatic', 'manual']);
    expect(receiver.accepted.filter((e) => e.id === byType['run.completed'].eventId)).toHaveLength(2);

    const summary = await getJson(`${stack.apiUrl}/webhooks/${created.body.id}`);
    expect(summary.body.deliveries).toEqual({ delivered: expected.length });
  });

  it('only delivers the event types and process a subscription asked for; a deleted subscription gets nothing', async () => {
    const onlyCompleted = await postJson(`${stack.apiUrl}/webhooks`, { url: receiver.url, eventTypes: ['run.completed'], process: 'contract' });
    expect(onlyCompleted.status).toBe(201);
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ amount: 3_000, title: 'Forklift battery' }), settings: quickTiming });
    const mail = await waitForApprovalMail(stack, 'morgan.lee@example.com', { subject: /Forklift battery/ });
    await submitDecision(mail.link, 'reject', 'not this year');
    await waitForRunStatus(stack, started.body.runId, 'rejected');
    const log = await getJson(`${stack.apiUrl}/webhooks/${onlyCompleted.body.id}/deliveries`);
    expect(log.body.items).toEqual([]);

    const deleted = await fetch(`${stack.apiUrl}/webhooks/${onlyCompleted.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${stack.adminKey}` } });
    expect(deleted.status).toBe(204);
    expect((await getJson(`${stack.apiUrl}/webhooks/${onlyCompleted.body.id}`)).status).toBe(404);
  });
});
