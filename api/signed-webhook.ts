import type { Request } from 'express';
import { AppError } from '../lib/errors.js';
import { verifyWebhook, WebhookVerificationError } from '../lib/webhook-signature.js';

/**
 * Checks a Standard Webhooks signature on the raw body, answering as the API does everywhere: 400 without the
 * headers, 401 for a stale timestamp (which it names) or any bad signature (which it does not explain).
 */
export function verifySignedRequest(secret: string, req: Request, body: string): { id: string } {
  try {
    return verifyWebhook(secret, { id: req.get('webhook-id'), timestamp: req.get('webhook-timestamp'), signature: req.get('webhook-signature') }, body);
  } catch (error) {
    if (!(error instanceof WebhookVerificationError)) throw error;
    if (error.reason === 'missing_headers') throw new AppError('bad_request', error.message);
    throw new AppError('unauthorized', error.reason === 'stale_timestamp' ? error.message : 'Signature verification failed');
  }
}
