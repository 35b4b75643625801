import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './db.js';
import { hashToken, looksLikeToken, newLinkNonce } from './tokens.js';

/**
 * Sign-in for "My approvals" (/me) without an account or API key: a person asks for a link by e-mail address, the
 * worker mails a one-time link (valid SIGN_IN_LINK_TTL_MS, single use), and using it opens a server-side session
 * held by a random cookie (only its hash is stored, like console sessions).
 */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;
export const PERSON_SESSION_TTL_MS = 8 * 60 * 60_000;
/** At most this many links per address per SIGN_IN_LINK_TTL_MS: nobody can flood an inbox through the form. */
export const SIGN_IN_LINKS_PER_WINDOW = 3;

export interface PersonSession {
  idHash: string;
  email: string;
  csrfToken: string;
  expiresAt: Date;
}

const hashSessionId = (value: string) => createHash('sha256').update(value).digest('hex');
const randomToken = () => randomBytes(32).toString('base64url');

/**
 * Records a sign-in link for a person of the directory. Returns its id (the mail workflow mints and mails the
 * token), or undefined when the address is unknown or has asked too often; the page says the same either way,
 * so the form does not tell who is in the directory.
 */
export async function requestSignInLink(db: Db, email: string, ip: string | undefined, now = new Date()): Promise<string | undefined> {
  const person = await db.person.findFirst({ where: { email: { equals: email, mode: 'insensitive' } } });
  if (!person) return undefined;
  const recent = await db.signInLink.count({ where: { email: person.email, createdAt: { gt: new Date(now.getTime() - SIGN_IN_LINK_TTL_MS) } } });
  if (recent >= SIGN_IN_LINKS_PER_WINDOW) return undefined;
  const id = `signin_${randomUUID()}`;
  await db.signInLink.create({
    data: { id, email: person.email, nonce: newLinkNonce(), expiresAt: new Date(now.getTime() + SIGN_IN_LINK_TTL_MS), ip: ip ?? null },
  });
  return id;
}

export type SignInLinkState = { ok: true; email: string } | { ok: false; reason: 'unknown' | 'used' | 'expired' };

/** What a link's page may say before anyone uses it (GET shows; only POST signs in, so mail scanners cannot). */
export async function inspectSignInLink(db: Db, token: string, now = new Date()): Promise<SignInLinkState> {
  if (!looksLikeToken(token)) return { ok: false, reason: 'unknown' };
  const link = await db.signInLink.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!link) return { ok: false, reason: 'unknown' };
  if (link.usedAt) return { ok: false, reason: 'used' };
  if (link.expiresAt <= now) return { ok: false, reason: 'expired' };
  return { ok: true, email: link.email };
}

/** Uses a link once: of two concurrent uses exactly one wins (the conditional update), the other is told "used". */
export async function consumeSignInLink(db: Db, token: string, now = new Date()): Promise<SignInLinkState> {
  const state = await inspectSignInLink(db, token, now);
  if (!state.ok) return state;
  const { count } = await db.signInLink.updateMany({ where: { tokenHash: hashToken(token), usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
  return count === 1 ? state : { ok: false, reason: 'used' };
}

export async function openPersonSession(db: Db, email: string, now = new Date()): Promise<{ cookieValue: string; expiresAt: Date }> {
  const cookieValue = randomToken();
  const expiresAt = new Date(now.getTime() + PERSON_SESSION_TTL_MS);
  await db.personSession.create({ data: { idHash: hashSessionId(cookieValue), email, csrfToken: randomToken(), expiresAt } });
  await db.personSession.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - PERSON_SESSION_TTL_MS) } } });
  return { cookieValue, expiresAt };
}

export async function findPersonSession(db: Db, cookieValue: string | undefined, now = new Date()): Promise<PersonSession | undefined> {
  if (!cookieValue || !/^[A-Za-z0-9_-]{43}$/.test(cookieValue)) return undefined;
  const row = await db.personSession.findUnique({ where: { idHash: hashSessionId(cookieValue) } });
  if (!row || row.revokedAt || row.expiresAt <= now) return undefined;
  return { idHash: row.idHash, email: row.email, csrfToken: row.csrfToken, expiresAt: row.expiresAt };
}

export async function revokePersonSession(db: Db, idHash: string, now = new Date()): Promise<void> {
  await db.personSession.updateMany({ where: { idHash, revokedAt: null }, data: { revokedAt: now } });
}
