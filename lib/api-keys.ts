import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import { safeEqual } from './tokens.js';

/**
 * API keys look like `opk_<id>_<secret>`: the id finds the row, only SHA-256 of the secret is stored, so a key is
 * shown once at creation and never again.
 */
export const scopeSchemaHint =
  'runs:start:<process> | runs:start:* | runs:read | runs:manage | runs:act-for-others | runs:configure | decisions:write | tasks:write | incidents:write | directory:read | directory:write | audit:read | webhooks:manage | schedules:manage | policies:write | admin';

/** Every scope a key can hold, besides `runs:start:<process>` for a registered process. */
export const knownScopes = [
  'runs:start:*',
  'runs:read',
  'runs:manage',
  'runs:act-for-others',
  'runs:configure',
  'decisions:write',
  'tasks:write',
  'incidents:write',
  'directory:read',
  'directory:write',
  'audit:read',
  'webhooks:manage',
  'schedules:manage',
  'policies:write',
  'admin',
] as const;

/** The scopes that grant nothing (a typo such as `runs:raed` would silently make a useless key). */
export function unknownScopes(scopes: readonly string[], processKeys: readonly string[]): string[] {
  return scopes.filter((scope) => {
    if ((knownScopes as readonly string[]).includes(scope)) return false;
    return !(scope.startsWith('runs:start:') && processKeys.includes(scope.slice('runs:start:'.length)));
  });
}

export interface Identity {
  keyId: string;
  email: string;
  scopes: string[];
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export async function createApiKey(db: Db, input: { name: string; personEmail: string; scopes: string[] }): Promise<{ id: string; key: string }> {
  const id = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x');
  const secret = randomBytes(32).toString('base64url');
  await db.apiKey.create({
    data: { id, name: input.name, secretHash: hashSecret(secret), personEmail: input.personEmail.toLowerCase(), scopes: input.scopes },
  });
  return { id, key: `opk_${id}_${secret}` };
}

/** The id part of something shaped like a key (`opk_<id>_…`), for rate limits by key id; undefined otherwise. */
export function apiKeyIdOf(presented: string): string | undefined {
  return /^opk_([A-Za-z0-9]{12})_/.exec(presented)?.[1];
}

/** lastUsedAt is written at most this often per key: a busy integration must not turn every request into a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

export async function verifyApiKey(db: Db, presented: string): Promise<Identity | undefined> {
  const match = /^opk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/.exec(presented);
  if (!match) return undefined;
  const [, id, secret] = match as unknown as [string, string, string];
  const key = await db.apiKey.findUnique({ where: { id } });
  if (!key || key.revokedAt || !safeEqual(key.secretHash, hashSecret(secret))) return undefined;
  await markUsed(db, key.id, key.lastUsedAt);
  return { keyId: key.id, email: key.personEmail, scopes: key.scopes };
}

/**
 * Records when a key was last used, at most once a minute: the condition is in the UPDATE, so several API
 * processes racing on one key still write once. Best effort: a failed write must not fail the request it rides on.
 */
async function markUsed(db: Db, id: string, lastUsedAt: Date | null): Promise<void> {
  const now = new Date();
  const stale = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  if (lastUsedAt && lastUsedAt > stale) return;
  await db.apiKey
    .updateMany({ where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: stale } }] }, data: { lastUsedAt: now } })
    .catch(() => undefined);
}

/** The identity of a key by id (a console session holds the id, never the key); undefined once revoked. */
export async function identityForKeyId(db: Db, id: string): Promise<Identity | undefined> {
  const key = await db.apiKey.findUnique({ where: { id } });
  if (!key || key.revokedAt) return undefined;
  await markUsed(db, key.id, key.lastUsedAt);
  return { keyId: key.id, email: key.personEmail, scopes: key.scopes };
}

/** `admin` holds every scope; `runs:start:*` every process. */
export function hasScope(identity: Pick<Identity, 'scopes'>, scope: string): boolean {
  if (identity.scopes.includes('admin') || identity.scopes.includes(scope)) return true;
  return scope.startsWith('runs:start:') && identity.scopes.includes('runs:start:*');
}
