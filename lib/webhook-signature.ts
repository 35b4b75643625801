import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The Standard Webhooks scheme: HMAC-SHA256 over `${id}.${timestamp}.${body}` with the secret's bytes (a secret is
 * `whsec_` + base64), sent as `webhook-signature: v1,<base64>` (several, space-separated, during key rotation).
 */
export const TOLERANCE_SECONDS = 5 * 60;

export class WebhookVerificationError extends Error {
  constructor(
    readonly reason: 'missing_headers' | 'stale_timestamp' | 'bad_signature',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', secretBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export interface WebhookHeaders {
  id?: string;
  timestamp?: string;
  signature?: string;
}

/** Throws unless one of the signatures matches and the timestamp is within the tolerance (replay protection). */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string, nowSeconds = Math.floor(Date.now() / 1000)): { id: string; timestamp: number } {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) {
    throw new WebhookVerificationError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
  }
  const seconds = Number(timestamp);
  if (!Number.isInteger(seconds) || Math.abs(nowSeconds - seconds) > TOLERANCE_SECONDS) {
    throw new WebhookVerificationError('stale_timestamp', `webhook-timestamp is more than ${TOLERANCE_SECONDS} s from now`);
  }
  const expected = Buffer.from(signWebhook(secret, id, seconds, body).slice(3), 'base64');
  const matches = signature
    .split(' ')
    .filter((candidate) => candidate.startsWith('v1,'))
    .some((candidate) => {
      const given = Buffer.from(candidate.slice(3), 'base64');
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  if (!matches) throw new WebhookVerificationError('bad_signature', 'No webhook-signature matches this body');
  return { id, timestamp: seconds };
}
