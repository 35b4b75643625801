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

/**
 * A key's id and secret, or undefined when it is not shaped like a key. The secret is base64url, so it may hold `_`
 * itself: it is all 43 characters after the 12-character id, not what follows the last `_`.
 */
export function apiKeyParts(presented: string): { id: string; secret: string } | undefined {
  const match = /^opk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/.exec(presented);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** lastUsedAt is written at most this often per key: a busy integration must not turn every request into a write. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** How long a verified key is believed without reading its row again (API_KEY_CACHE_MS): the bound on a revocation made elsewhere. */
export const DEFAULT_API_KEY_CACHE_MS = 5_000;

/** The PostgreSQL channel a revocation is announced on (NOTIFY, with the key's id), committed with the revocation. */
export const API_KEY_REVOKED_CHANNEL = 'opsflow_api_key_revoked';

/**
 * Revokes a key and announces it in the same commit: every API process that listens (lib/api-key-revocations.ts)
 * forgets it at once; the others within API_KEY_CACHE_MS. The caller's own cache should forget it too (no round trip).
 */
export async function revokeApiKey(db: Db, id: string) {
  const [revoked] = await db.$transaction([
    db.apiKey.update({ where: { id }, data: { revokedAt: new Date() } }),
    db.$executeRaw`SELECT pg_notify(${API_KEY_REVOKED_CHANNEL}, ${id})`,
  ]);
  return revoked;
}

interface CachedKey {
  secretHash: string;
  identity: Identity;
  /** When the row was read (the cache's clock). */
  readAt: number;
  /** The last lastUsedAt this process wrote or read. */
  lastUsedAt: Date | null;
}

/**
 * Verified keys, so a request need not read its key's row: an entry is believed for `ttlMs` after the row was
 * read, then read again. A key revoked through this process's API is forgotten at once (`forget`); one revoked
 * elsewhere (another API process, `npm run apikey revoke`) is refused at most `ttlMs` later. Only keys that passed
 * the check are kept (a wrong secret or a revoked key reads its row every time, under the failed-check limits);
 * the secret is compared against the stored hash every time. `ttlMs: 0` turns the cache off.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, CachedKey>();
  readonly ttlMs: number;
  /** How long an entry is believed while revocations are heard (`hearing(true)`); never less than `ttlMs`. */
  readonly listeningTtlMs: number;
  readonly now: () => number;
  private readonly maxEntries: number;
  private heard = false;
  /**
   * Whether this process writes lastUsedAt for all its keys together (`writeUsesTogether`, every minute) instead of
   * in each request that is due one: one commit a minute instead of one per key a minute, and no request waits on it.
   */
  readonly defersLastUsed: boolean;
  /** Uses not written yet, by key id: the first use of each (the minute it falls in is what lastUsedAt says). */
  private readonly unwrittenUses = new Map<string, Date>();
  /** Moves on at every `forget`: a row read before a revocation here must not be cached after it. */
  generation = 0;

  constructor(options: { ttlMs?: number; listeningTtlMs?: number; now?: () => number; maxEntries?: number; deferLastUsed?: boolean } = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_API_KEY_CACHE_MS;
    this.defersLastUsed = options.deferLastUsed ?? false;
    this.listeningTtlMs = Math.max(this.ttlMs, options.listeningTtlMs ?? this.ttlMs);
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Whether revocations are heard now: entries are then believed `listeningTtlMs`, otherwise `ttlMs` again. */
  get hearsRevocations(): boolean {
    return this.heard;
  }

  /**
   * Revocations are heard from now on (`true`: what was cached before may have missed one, so it is all forgotten),
   * or no longer (`false`: every entry is believed `ttlMs` after its read again, so older ones are read at next use).
   */
  hearing(heard: boolean): void {
    if (heard && !this.heard) this.forgetAll();
    this.heard = heard;
  }

  get(id: string): CachedKey | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (this.now() - entry.readAt >= (this.heard ? this.listeningTtlMs : this.ttlMs)) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }

  /** Caches a row read when the generation was `readInGeneration` (nothing, if a key was forgotten since). */
  put(id: string, entry: Omit<CachedKey, 'readAt'>, readInGeneration: number): CachedKey | undefined {
    if (this.ttlMs <= 0 || readInGeneration !== this.generation) return undefined;
    // Keys are few (an admin makes each); the bound only stops a flood of distinct valid keys from growing the map.
    if (this.entries.size >= this.maxEntries && !this.entries.has(id)) this.entries.delete(this.entries.keys().next().value!);
    const cached = { ...entry, readAt: this.now() };
    this.entries.set(id, cached);
    return cached;
  }

  /** The key was revoked (or changed): its next use reads its row. */
  forget(id: string): void {
    this.generation++;
    this.entries.delete(id);
  }

  /** Every key's next use reads its row. */
  forgetAll(): void {
    this.generation++;
    this.entries.clear();
  }

  /** A use to write with the next `writeUsesTogether` (a key's earlier unwritten use is kept). */
  noteUse(id: string, at: Date): void {
    if (!this.unwrittenUses.has(id)) this.unwrittenUses.set(id, at);
  }

  /** The uses noted since the last call, now taken out to be written. */
  takeUses(): Array<[string, Date]> {
    const uses = [...this.unwrittenUses];
    this.unwrittenUses.clear();
    return uses;
  }

  /** Reads of a key's row under way, by key id and generation. */
  private readonly reading = new Map<string, Promise<unknown>>();

  /**
   * Requests that miss the cache together on one key share one read of its row (a burst on a cold or expired key
   * would otherwise read it once each). Only a read begun in the current generation is shared: one begun before a
   * revocation here is not.
   */
  readOnce<Row>(id: string, read: () => Promise<Row>): Promise<Row> {
    // With the cache off every request reads the row itself, so a revocation anywhere counts at once.
    if (this.ttlMs <= 0) return read();
    const key = `${id}:${this.generation}`;
    const pending = this.reading.get(key) as Promise<Row> | undefined;
    if (pending) return pending;
    const started = read().finally(() => this.reading.delete(key));
    this.reading.set(key, started);
    return started;
  }
}

export async function verifyApiKey(db: Db, presented: string, cache?: ApiKeyCache): Promise<Identity | undefined> {
  const parts = apiKeyParts(presented);
  if (!parts) return undefined;
  const { id, secret } = parts;
  const presentedHash = hashSecret(secret);
  // A cached key: the secret is still checked against its hash, and its use recorded (at most once a minute).
  const fromCache = async (entry: CachedKey) => {
    if (!safeEqual(entry.secretHash, presentedHash)) return undefined;
    await markUsed(db, id, entry, cache!.now(), cache);
    return entry.identity;
  };
  const cached = cache?.get(id);
  if (cached) return fromCache(cached);
  const generation = cache?.generation ?? 0;
  const readRow = () => db.apiKey.findUnique({ where: { id } });
  const key = await (cache ? cache.readOnce(id, readRow) : readRow());
  if (!key || key.revokedAt || !safeEqual(key.secretHash, presentedHash)) return undefined;
  // Another request that shared the read has cached the key already (and moved its lastUsedAt on): use that entry.
  const joined = cache?.get(id);
  if (joined?.secretHash === key.secretHash) return fromCache(joined);
  // Frozen: one cached identity serves many requests.
  const identity: Identity = Object.freeze({ keyId: key.id, email: key.personEmail, scopes: Object.freeze([...key.scopes]) as string[] });
  const entry = cache?.put(id, { secretHash: key.secretHash, identity, lastUsedAt: key.lastUsedAt }, generation) ?? { lastUsedAt: key.lastUsedAt };
  await markUsed(db, key.id, entry, cache?.now() ?? Date.now(), cache);
  return identity;
}

/**
 * Records when a key was last used, at most once a minute: the condition is in the UPDATE, so several API
 * processes racing on one key still write once. Best effort: a failed write must not fail the request it rides on.
 * `seen.lastUsedAt` is what this process last read or wrote; it is moved on before the write so that concurrent
 * requests on one key do not all write. A cache that defers the write notes the use for `writeUsesTogether`.
 */
async function markUsed(db: Db, id: string, seen: { lastUsedAt: Date | null }, nowMs = Date.now(), cache?: ApiKeyCache): Promise<void> {
  const now = new Date(nowMs);
  const stale = new Date(nowMs - LAST_USED_RESOLUTION_MS);
  if (seen.lastUsedAt && seen.lastUsedAt > stale) return;
  seen.lastUsedAt = now;
  if (cache?.defersLastUsed) return cache.noteUse(id, now);
  await db.apiKey
    .updateMany({ where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lte: stale } }] }, data: { lastUsedAt: now } })
    .catch(() => undefined);
}

/**
 * Writes the uses a deferring cache noted, every key in one statement, each under the same once-a-minute condition
 * as a single write (another process may have written a later use meanwhile). Returns how many keys it wrote. Uses
 * that fail to be written are noted again for the next call (best effort: a key's lastUsedAt is a hint, not a record).
 */
export async function writeUsesTogether(db: Db, cache: ApiKeyCache): Promise<number> {
  const uses = cache.takeUses();
  if (uses.length === 0) return 0;
  const ids = uses.map(([id]) => id);
  const times = uses.map(([, at]) => at.toISOString());
  try {
    return await db.$executeRaw`
      UPDATE "ApiKey" k SET "lastUsedAt" = u.at
      FROM (SELECT unnest(${ids}::text[]) AS id, unnest(${times}::timestamptz[]) AT TIME ZONE 'UTC' AS at) u
      WHERE k.id = u.id AND (k."lastUsedAt" IS NULL OR k."lastUsedAt" <= u.at - ${`${LAST_USED_RESOLUTION_MS} milliseconds`}::interval)`;
  } catch {
    for (const [id, at] of uses) cache.noteUse(id, at);
    return 0;
  }
}

/** Writes a deferring cache's uses every minute (the resolution lastUsedAt keeps); `stop` writes what is left. */
export function writeUsesEveryMinute(db: Db, cache: ApiKeyCache): { stop(): Promise<void> } {
  const timer = setInterval(() => void writeUsesTogether(db, cache), LAST_USED_RESOLUTION_MS).unref();
  return {
    async stop() {
      clearInterval(timer);
      await writeUsesTogether(db, cache);
    },
  };
}

/** The identity of a key by id (a console session holds the id, never the key); undefined once revoked. */
export async function identityForKeyId(db: Db, id: string): Promise<Identity | undefined> {
  const key = await db.apiKey.findUnique({ where: { id } });
  if (!key || key.revokedAt) return undefined;
  await markUsed(db, key.id, { lastUsedAt: key.lastUsedAt });
  return { keyId: key.id, email: key.personEmail, scopes: key.scopes };
}

/** `admin` holds every scope; `runs:start:*` every process. */
export function hasScope(identity: Pick<Identity, 'scopes'>, scope: string): boolean {
  if (identity.scopes.includes('admin') || identity.scopes.includes(scope)) return true;
  return scope.startsWith('runs:start:') && identity.scopes.includes('runs:start:*');
}
