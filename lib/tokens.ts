import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Link tokens (approval, revision and outside-form links) are HMAC-SHA256(key, requestId + nonce), base64url:
 * 256 bits. The nonce is 32 random bytes made when the request row is created and stored in it, so a token cannot
 * be derived from the request id (which GET /runs/:id, the audit log and webhooks show) even by someone who holds
 * the key; and a retried activity or a reminder re-mints the same token from the row, so a link already mailed
 * keeps working. Only the token's SHA-256 is stored; checking a link is a hash lookup, so it needs no key.
 */
export function mintLinkToken(key: TokenKey, requestId: string, nonce: string): string {
  return createHmac('sha256', key.secret).update(`opsflow-link:v2:${requestId}:${nonce}`).digest('base64url');
}

/** A fresh per-request nonce for mintLinkToken. */
export function newLinkNonce(): string {
  return randomBytes(32).toString('base64url');
}

/** One key of the TOKEN_SECRETS ring; `id` is stored with each request so reminders find the key that minted it. */
export interface TokenKey {
  id: string;
  secret: string;
}

/** A short id for a key: SHA-256 of a domain-separated secret, truncated; it reveals nothing usable about a 32-byte secret. */
export function tokenKeyId(secret: string): string {
  return createHash('sha256').update(`opsflow-token-key-id:${secret}`).digest('hex').slice(0, 16);
}

/** The ring in the order configured: the first key mints new links. */
export function tokenKeyRing(secrets: readonly string[]): TokenKey[] {
  return secrets.map((secret) => ({ id: tokenKeyId(secret), secret }));
}

/**
 * The scheme before nonces: HMAC-SHA256(secret, requestId). Only used to re-send the link of a request created
 * before the nonce column existed; new tokens never come from it.
 */
export function legacyLinkToken(secret: string, requestId: string): string {
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
