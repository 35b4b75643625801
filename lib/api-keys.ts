import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import { safeEqual } from './tokens.js';

/**
 * API keys look like `opk_<id>_<secret>`: the id finds the row, only SHA-256 of the secret is stored, so a key is
 * shown once at creation and never again.
 */
export const scopeSchemaHint =
  'runs:start:<process> | runs:start:* | runs:read | runs:manage | runs:act-for-others | runs:configure | decisions:write | directory:write | audit:read | webhooks:manage | schedules:manage | policies:write | admin';

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

export async function verifyApiKey(db: Db, presented: string): Promise<Identity | undefined> {
  const match = /^opk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/.exec(presented);
  if (!match) return undefined;
  const [, id, secret] = match as unknown as [string, string, string];
  const key = await db.apiKey.findUnique({ where: { id } });
  if (!key || key.revokedAt || !safeEqual(key.secretHash, hashSecret(secret))) return undefined;
  return { keyId: key.id, email: key.personEmail, scopes: key.scopes };
}

/** `admin` holds every scope; `runs:start:*` every process. */
export function hasScope(identity: Pick<Identity, 'scopes'>, scope: string): boolean {
  if (identity.scopes.includes('admin') || identity.scopes.includes(scope)) return true;
  return scope.startsWith('runs:start:') && identity.scopes.includes('runs:start:*');
}
