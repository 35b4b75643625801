import { z } from 'zod';
import { AppError } from '../../lib/errors.js';
import { handleInboundEmail } from '../inbound-email.js';
import { defineRoute } from '../route-table.js';
import { verifySignedRequest } from '../signed-webhook.js';

const inboundOutcomeSchema = z.union([
  z.object({ kind: z.literal('ignored'), why: z.string() }),
  z.object({ kind: z.literal('refused'), why: z.string(), requestId: z.string().optional() }),
  z.object({ kind: z.literal('decided'), requestId: z.string(), decision: z.enum(['approved', 'rejected', 'changes_requested']) }),
  z.object({ kind: z.literal('pending'), requestId: z.string() }),
]);

/**
 * `POST /inbound/email`: a provider's inbound webhook posts the raw MIME of a reply to an approval mail, signed
 * per Standard Webhooks with INBOUND_EMAIL_WEBHOOK_SECRET. Handled like a reply through the SMTP listener; the
 * recipients come from the message's headers (To, Cc, Delivered-To, X-Original-To).
 */
export const inboundEmailRoutes = [
  defineRoute({
    method: 'post',
    path: '/inbound/email',
    operationId: 'receiveInboundEmail',
    tag: 'Decisions',
    summary: "Receive a reply to an approval mail as raw MIME from a provider's inbound webhook (reply by e-mail)",
    description: 'Signed per Standard Webhooks with INBOUND_EMAIL_WEBHOOK_SECRET; the reply decides only with DKIM/DMARC for the approver (README, Approvals).',
    auth: 'none',
    request: {
      headers: z.object({ 'webhook-id': z.string(), 'webhook-timestamp': z.string(), 'webhook-signature': z.string() }),
      bodyParsing: 'raw',
      bodyLimit: '2mb',
    },
    responses: { 200: { description: 'Handled: decided, or refused and answered by mail', schema: inboundOutcomeSchema } },
    errors: { 400: 'Missing signature headers or an empty body', 401: 'Reply by e-mail is off, bad signature or stale timestamp' },
    async handler(ctx, { req, res }) {
      const inbound = ctx.inboundEmail;
      // Off (no domain or no secret) and a bad signature look alike to the caller.
      if (!inbound?.webhookSecret) throw new AppError('unauthorized', 'Signature verification failed');
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      verifySignedRequest(inbound.webhookSecret, req, raw.toString('utf8'));
      if (raw.length === 0) throw new AppError('bad_request', 'The body must be the raw MIME message');
      res.status(200).json(await handleInboundEmail(ctx, inbound, raw, { recipients: [] }));
    },
  }),
];
