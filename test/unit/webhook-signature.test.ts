import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, WebhookVerificationError } from '../../lib/webhook-signature.js';

/**
 * Interop with the official Standard Webhooks library, in both directions: checking our signatures with our own
 * verifier would pass whatever formula both used.
 */
const secret = `whsec_${randomBytes(24).toString('base64')}`;
const body = JSON.stringify({ type: 'offer.accepted', data: { candidateId: 'CAND-1', note: 'ünïcødé ✓' } });

describe('Standard Webhooks signatures', () => {
  it('what Opsflow signs (outbound webhooks), the official library verifies', () => {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_42', 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, 'evt_42', timestamp, body) };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it('what the official library signs (a sender such as the ATS), Opsflow verifies, and only that', () => {
    const sent = new Date();
    const signature = new Webhook(secret).sign('msg_7', sent, body);
    const headers = { id: 'msg_7', timestamp: String(Math.floor(sent.getTime() / 1000)), signature };
    expect(verifyWebhook(secret, headers, body)).toEqual({ id: 'msg_7', timestamp: Math.floor(sent.getTime() / 1000) });
    expect(() => verifyWebhook(secret, { ...headers, id: 'msg_8' }, body)).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(`whsec_${randomBytes(24).toString('base64')}`, headers, body)).toThrow(/No webhook-signature matches/);
  });
});
