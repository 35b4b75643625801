import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Approval tokens are HMAC-SHA256(secret, requestId), base64url: 256 bits nobody can guess without the secret,
 * and the same every time the activity that mints it is retried, so a retry never invalidates a link already
 * mailed. Only the SHA-256 of a token is stored; single use is recorded on the approval request row.
 */
export function mintApprovalToken(secret: string, requestId: string): string {
  return createHmac('sha256', secret).update(`approval:${requestId}`).digest('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Tokens are 43 base64url characters; anything else is refused before touching the database. */
export function looksLikeToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
