import express, { Router } from 'express';
import { AppError } from '../../lib/errors.js';
import type { ApiContext } from '../context.js';
import { handleInboundEmail } from '../inbound-email.js';
import { verifySignedRequest } from '../signed-webhook.js';

/**
 * `POST /inbound/email`: a provider's inbound webhook posts the raw MIME of a reply to an approval mail, signed
 * per Standard Webhooks with INBOUND_EMAIL_WEBHOOK_SECRET. Handled like a reply through the SMTP listener; the
 * recipients come from the message's headers (To, Cc, Delivered-To, X-Original-To).
 */
export function inboundEmailRouter(ctx: ApiContext): Router {
  const router = Router();
  router.post('/inbound/email', express.raw({ type: () => true, limit: '2mb' }), async (req, res) => {
    const inbound = ctx.inboundEmail;
    // Off (no domain or no secret) and a bad signature look alike to the caller.
    if (!inbound?.webhookSecret) throw new AppError('unauthorized', 'Signature verification failed');
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    verifySignedRequest(inbound.webhookSecret, req, raw.toString('utf8'));
    if (raw.length === 0) throw new AppError('bad_request', 'The body must be the raw MIME message');
    const outcome = await handleInboundEmail(ctx, inbound, raw, { recipients: [] });
    res.status(200).json(outcome);
  });
  return router;
}
