import { describe, expect, it } from 'vitest';
import { ApiKeyCache, apiKeyParts, createApiKey, verifyApiKey } from '../../lib/api-keys.js';
import type { Db } from '../../lib/db.js';

type KeyRow = { id: string; name: string; secretHash: string; personEmail: string; scopes: string[]; createdAt: Date; lastUsedAt: Date | null; revokedAt: Date | null };

/**
 * The key table of one key, held in memory: its reads wait until the test releases them, so that requests can be
 * made to miss the cache together, deterministically.
 */
async function oneKey() {
  let row: KeyRow | undefined;
  const calls = { reads: 0, lastUsedWrites: 0 };
  let release!: () => void;
  let released = new Promise<void>((resolve) => (release = resolve));
  const db = {
    apiKey: {
      async create({ data }: { data: Omit<KeyRow, 'createdAt' | 'lastUsedAt' | 'revokedAt'> }) {
        row = { ...data, createdAt: new Date(), lastUsedAt: null, revokedAt: null };
        return row;
      },
      async findUnique() {
        calls.reads += 1;
        await released;
        return row ? { ...row } : null;
      },
      async updateMany() {
        calls.lastUsedWrites += 1;
        return { count: 1 };
      },
    },
  } as unknown as Db;
  const { key, id } = await createApiKey(db, { name: 'integration', personEmail: 'morgan.lee@example.com', scopes: ['decisions:write'] });
  return {
    db,
    key,
    id,
    calls,
    release: () => release(),
    holdReads: () => {
      released = new Promise<void>((resolve) => (release = resolve));
    },
    revoke: () => {
      row!.revokedAt = new Date();
    },
  };
}

describe('the shape of a key', () => {
  it('takes the secret as all 43 characters after the id, underscores in it included', () => {
    const secret = `${'A'.repeat(20)}_${'b'.repeat(10)}_-${'c'.repeat(10)}`;
    expect(secret).toHaveLength(43);
    expect(apiKeyParts(`opk_${'x'.repeat(12)}_${secret}`)).toEqual({ id: 'x'.repeat(12), secret });
    expect(apiKeyParts(`opk_${'x'.repeat(12)}_${secret}x`)).toBeUndefined();
    expect(apiKeyParts(`opk_${'x'.repeat(11)}_${secret}`)).toBeUndefined();
  });
});

describe('the API key cache', () => {
  it('requests that miss together on one key read its row once, and record its use once', async () => {
    const { db, key, calls, release } = await oneKey();
    const cache = new ApiKeyCache({ ttlMs: 5_000 });
    const verifying = Array.from({ length: 8 }, () => verifyApiKey(db, key, cache));
    release();
    const identities = await Promise.all(verifying);
    expect(identities.map((identity) => identity?.email)).toEqual(Array(8).fill('morgan.lee@example.com'));
    expect(calls).toEqual({ reads: 1, lastUsedWrites: 1 });
  });

  it('a read begun before a revocation here is not shared with a request after it', async () => {
    const { db, key, id, calls, release, holdReads, revoke } = await oneKey();
    const cache = new ApiKeyCache({ ttlMs: 5_000 });
    holdReads();
    const before = verifyApiKey(db, key, cache);
    revoke();
    cache.forget(id);
    const after = verifyApiKey(db, key, cache);
    release();
    await before;
    expect(await after).toBeUndefined();
    expect(calls.reads).toBe(2);
  });

  it('believes a key longer while revocations are heard, and only as long as that lasts', async () => {
    const { db, key, calls, release } = await oneKey();
    release();
    let now = 0;
    const cache = new ApiKeyCache({ ttlMs: 5_000, listeningTtlMs: 300_000, now: () => now });
    await verifyApiKey(db, key, cache);
    cache.hearing(true);
    // What was cached before hearing may have missed a revocation: read again.
    await verifyApiKey(db, key, cache);
    expect(calls.reads).toBe(2);
    now += 60_000;
    await verifyApiKey(db, key, cache);
    expect(calls.reads).toBe(2);
    // The connection dropped: the short bound applies to what is cached, from its read.
    cache.hearing(false);
    await verifyApiKey(db, key, cache);
    expect(calls.reads).toBe(3);
    now += 4_000;
    await verifyApiKey(db, key, cache);
    expect(calls.reads).toBe(3);
    now += 1_000;
    await verifyApiKey(db, key, cache);
    expect(calls.reads).toBe(4);
  });

  it('with the cache off, every request reads the row', async () => {
    const { db, key, calls, release } = await oneKey();
    const cache = new ApiKeyCache({ ttlMs: 0 });
    const verifying = Array.from({ length: 3 }, () => verifyApiKey(db, key, cache));
    release();
    await Promise.all(verifying);
    expect(calls.reads).toBe(3);
  });
});
