import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../../lib/webhook-signature.js';
import { getJson } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('inbound events: signed, fresh, once', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const now = () => Math.floor(Date.now() / 1000);
  async function send(source: string, body: string, headers: Record<string, string>) {
    const response = await fetch(`${stack.apiUrl}/events/${source}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }
  function signed(secret: string, id: string, body: string, timestamp = now()) {
    return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) };
  }
  const offer = JSON.stringify({ type: 'offer.accepted', data: { candidateId: 'cand-1', requisitionId: 'req-7' } });

  it('accepts a valid signature with 202 and records the event once', async () => {
    const headers = signed(stack.eventSecrets.ats, 'msg_valid', offer);
    const first = await send('ats', offer, headers);
    expect(first.status).toBe(202);
    // No run is waiting for this candidate: recorded as unmatched, with the reason.
    expect(first.body).toMatchObject({ status: 'unmatched', type: 'offer.accepted' });
    expect(first.body.reason).toBeTruthy();
    const again = await send('ats', offer, headers);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ eventId: first.body.eventId, duplicate: true });
    expect(await stack.db.inboundEvent.count({ where: { webhookId: 'msg_valid' } })).toBe(1);
    const listed = await getJson(`${stack.apiUrl}/events?source=ats`);
    expect(listed.body.items[0]).toMatchObject({ type: 'offer.accepted', payload: { candidateId: 'cand-1' } });
  });

  it('accepts any of several signatures (key rotation)', async () => {
    const headers = signed(stack.eventSecrets.ats, 'msg_rotated', offer);
    headers['webhook-signature'] = `${signWebhook('whsec_b2xkIHNlY3JldA==', 'msg_rotated', Number(headers['webhook-timestamp']), offer)} ${headers['webhook-signature']}`;
    expect((await send('ats', offer, headers)).status).toBe(202);
  });

  it('refuses a wrong secret, a tampered body, another source’s secret and an unknown source (401)', async () => {
    expect((await send('ats', offer, signed('whsec_d3Jvbmcgc2VjcmV0IGJ5dGVz', 'msg_wrong', offer))).status).toBe(401);
    const tampered = offer.replace('cand-1', 'cand-2');
    expect((await send('ats', tampered, signed(stack.eventSecrets.ats, 'msg_tampered', offer))).status).toBe(401);
    expect((await send('ats', offer, signed(stack.eventSecrets.erp, 'msg_cross', offer))).status).toBe(401);
    expect((await send('nobody', offer, signed(stack.eventSecrets.ats, 'msg_unknown', offer))).status).toBe(401);
    expect(await stack.db.inboundEvent.count({ where: { webhookId: { in: ['msg_wrong', 'msg_tampered', 'msg_cross', 'msg_unknown'] } } })).toBe(0);
  });

  it('refuses stale or future timestamps (replay protection) and missing headers', async () => {
    const stale = await send('ats', offer, signed(stack.eventSecrets.ats, 'msg_stale', offer, now() - 600));
    expect(stale.status).toBe(401);
    expect(stale.body.error.message).toContain('webhook-timestamp');
    expect((await send('ats', offer, signed(stack.eventSecrets.ats, 'msg_future', offer, now() + 600))).status).toBe(401);
    const headers = signed(stack.eventSecrets.ats, 'msg_missing', offer);
    for (const missing of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const partial = { ...headers };
      delete partial[missing as keyof typeof partial];
      const answer = await send('ats', offer, partial);
      expect(answer.status, missing).toBe(400);
      expect(answer.body.error.message).toContain('required');
    }
  });

  it('refuses a signed but malformed event with field errors, and malformed JSON with 400', async () => {
    const bad = JSON.stringify({ type: 'offer accepted!', data: [] });
    const answer = await send('ats', bad, signed(stack.eventSecrets.ats, 'msg_bad', bad));
    expect(answer.status).toBe(422);
    expect(answer.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['data', 'type']);
    const broken = '{"type": "x",';
    expect((await send('ats', broken, signed(stack.eventSecrets.ats, 'msg_broken', broken))).status).toBe(400);
  });
});
