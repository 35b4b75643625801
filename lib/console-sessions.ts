import { createHash, randomBytes } from 'node:crypto';
import { identityForKeyId, type Identity } from './api-keys.js';
import type { Db } from './db.js';

/**
 * Ops console sessions, kept server-side. The browser holds a random 256-bit id in a cookie; the table holds its
 * SHA-256, the API key's id (never the key), a CSRF token, the expiry and, after sign-out, when it was revoked, so a
 * copied cookie stops working the moment its owner signs out.
 */
export const CONSOLE_SESSION_TTL_MS = 12 * 60 * 60_000;
const DAY_MS = 86_400_000;

export interface ConsoleSession {
  idHash: string;
  identity: Identity;
  /** Every console POST must carry it back (api/console-security.ts). */
  csrfToken: string;
  expiresAt: Date;
}

const hashSessionId = (value: string) => createHash('sha256').update(value).digest('hex');
const randomToken = () => randomBytes(32).toString('base64url');

/** The cookie value is 43 base64url characters; anything else is refused before touching the database. */
export const looksLikeSessionId = (value: string) => /^[A-Za-z0-9_-]{43}$/.test(value);

export async function openConsoleSession(
  db: Db,
  identity: Identity,
  client: { ip?: string; userAgent?: string },
  now = new Date(),
): Promise<{ cookieValue: string; expiresAt: Date }> {
  const cookieValue = randomToken();
  const expiresAt = new Date(now.getTime() + CONSOLE_SESSION_TTL_MS);
  await db.consoleSession.create({
    data: {
      idHash: hashSessionId(cookieValue),
      apiKeyId: identity.keyId,
      csrfToken: randomToken(),
      expiresAt,
      ip: client.ip ?? null,
      userAgent: client.userAgent?.slice(0, 500) ?? null,
    },
  });
  // Sessions a day past their expiry can never be used again: drop them so the table does not grow forever.
  await db.consoleSession.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - DAY_MS) } } });
  return { cookieValue, expiresAt };
}

/** The live session a cookie names: not revoked, not expired, and its API key still valid. */
export async function findConsoleSession(db: Db, cookieValue: string, now = new Date()): Promise<ConsoleSession | undefined> {
  if (!looksLikeSessionId(cookieValue)) return undefined;
  const row = await db.consoleSession.findUnique({ where: { idHash: hashSessionId(cookieValue) } });
  if (!row || row.revokedAt || row.expiresAt <= now) return undefined;
  const identity = await identityForKeyId(db, row.apiKeyId);
  if (!identity) return undefined;
  return { idHash: row.idHash, identity, csrfToken: row.csrfToken, expiresAt: row.expiresAt };
}

export async function revokeConsoleSession(db: Db, idHash: string, now = new Date()): Promise<void> {
  await db.consoleSession.updateMany({ where: { idHash, revokedAt: null }, data: { revokedAt: now } });
}
