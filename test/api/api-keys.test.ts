import { Writable } from 'node:stream';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { listenForKeyRevocations, REVOCATION_LISTENER_NAME } from '../../lib/api-key-revocations.js';
import { ApiKeyCache, apiKeyIdOf, apiKeyParts, revokeApiKey } from '../../lib/api-keys.js';
import { createLogger } from '../../lib/logger.js';
import { capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, waitUntil } from '../support/http.js';
import { startStack, terminateRuns, type Stack } from '../support/stack.js';

describe('API keys and scopes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const runs = () => `${stack.apiUrl}/runs`;
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const body = (input = capexInput()) => ({ process: 'capex', input });

  it('refuses requests without a key or with a wrong, malformed or revoked key (401)', async () => {
    const none = await fetch(runs());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');

    const id = apiKeyIdOf(stack.adminKey)!;
    const wrongSecret = `opk_${id}_${'A'.repeat(43)}`;
    for (const key of [wrongSecret, 'opk_nonsense', 'Basic abc']) {
      expect((await getJson(runs(), bearer(key))).status).toBe(401);
    }
    // Revoked through this API: refused on its very next request, although the API had just verified (and cached) it.
    const revoked = await stack.createKey('morgan.lee@example.com', ['runs:read']);
    expect((await getJson(runs(), bearer(revoked))).status).toBe(200);
    const revokedId = apiKeyIdOf(revoked)!;
    const revocation = await fetch(`${stack.apiUrl}/keys/${revokedId}`, { method: 'DELETE', headers: bearer(stack.adminKey) });
    expect(revocation.status).toBe(200);
    expect((await getJson(runs(), bearer(revoked))).status).toBe(401);
  });

  it('refuses a key revoked elsewhere (another API process, npm run apikey) within API_KEY_CACHE_MS, and never a wrong secret', async () => {
    let now = Date.now();
    const cache = new ApiKeyCache({ ttlMs: 5_000, now: () => now });
    const app = createApp({ db: stack.db, temporal: stack.temporal, config: stack.config, logger: createLogger('api', 'silent'), apiKeys: cache });
    const key = await stack.createKey('morgan.lee@example.com', ['runs:read']);
    const id = apiKeyIdOf(key)!;
    await request(app).get('/runs').set('Authorization', `Bearer ${key}`).expect(200);
    // A wrong secret for a cached key id is refused: the cache holds the hash, the secret is checked every time.
    await request(app).get('/runs').set('Authorization', `Bearer opk_${id}_${'A'.repeat(43)}`).expect(401);

    // Revoked behind this app's back: believed until the bound, refused from the bound on.
    await stack.db.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    now += 4_999;
    await request(app).get('/runs').set('Authorization', `Bearer ${key}`).expect(200);
    now += 1;
    await request(app).get('/runs').set('Authorization', `Bearer ${key}`).expect(401);
    now += 60_000;
    await request(app).get('/runs').set('Authorization', `Bearer ${key}`).expect(401);

    // API_KEY_CACHE_MS=0: every request reads the row, so a revocation anywhere counts at once.
    const uncached = createApp({ db: stack.db, temporal: stack.temporal, config: { ...stack.config, API_KEY_CACHE_MS: 0 }, logger: createLogger('api', 'silent') });
    const other = await stack.createKey('morgan.lee@example.com', ['runs:read']);
    await request(uncached).get('/runs').set('Authorization', `Bearer ${other}`).expect(200);
    await stack.db.apiKey.update({ where: { id: apiKeyIdOf(other)! }, data: { revokedAt: new Date() } });
    await request(uncached).get('/runs').set('Authorization', `Bearer ${other}`).expect(401);
  });

  it('answers 403 naming the missing scope, and lets the right scope through', async () => {
    const reader = await stack.createKey('alex.rivera@example.com', ['runs:read']);
    const denied = await postJson(runs(), body(), bearer(reader));
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'forbidden', details: { requiredScope: 'runs:start:capex' } });
    expect(await stack.db.run.count()).toBe(0);

    const starter = await stack.createKey('alex.rivera@example.com', ['runs:start:capex']);
    const started = await postJson(runs(), body(), bearer(starter));
    expect(started.status).toBe(201);
    expect((await getJson(`${runs()}/${started.body.runId}`, bearer(starter))).status).toBe(403);
    expect((await getJson(`${runs()}/${started.body.runId}`, bearer(reader))).status).toBe(200);
    expect((await postJson(`${runs()}/${started.body.runId}/cancel`, {}, bearer(reader))).status).toBe(403);

    const wildcard = await stack.createKey('alex.rivera@example.com', ['runs:start:*']);
    expect((await postJson(runs(), body(capexInput({ title: 'Wildcard scope' })), bearer(wildcard))).status).toBe(201);
    await terminateRuns(stack);
  });

  it('per-run settings need runs:configure, and obey the policy’s bounds', async () => {
    const alex = await stack.createKey('alex.rivera@example.com', ['runs:start:capex']);
    const routedAround = { thresholds: { financeDirectorFrom: 9_999_999_998, cfoFrom: 9_999_999_999 } };
    const denied = await postJson(runs(), { process: 'capex', input: capexInput({ amount: 9_000_000 }), settings: routedAround }, bearer(alex));
    expect(denied.status).toBe(403);
    expect(denied.body.error.details.requiredScope).toBe('runs:configure');
    expect(await stack.db.run.count({ where: { title: capexInput().title, amount: 9_000_000 } })).toBe(0);

    const configurer = await stack.createKey('alex.rivera@example.com', ['runs:start:capex', 'runs:configure']);
    const personal = await postJson(
      runs(),
      { process: 'capex', input: capexInput(), settings: { approval: { escalateTo: 'person:alex.rivera@example.com', reminderAfter: '1ms' } } },
      bearer(configurer),
    );
    expect(personal.status).toBe(422);
    expect(personal.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['settings.approval.escalateTo', 'settings.approval.reminderAfter']);
    const unknownRole = await postJson(runs(), { process: 'capex', input: capexInput(), settings: { steps: { cfo: { approvers: ['role:chief-yes-officer'] } } } }, bearer(configurer));
    expect(unknownRole.status).toBe(422);
    expect(unknownRole.body.error.details.issues).toEqual([{ path: 'settings.steps.cfo.approvers.0', message: 'unknown role "chief-yes-officer": nobody in the directory holds it' }]);

    const tuned = await postJson(runs(), { process: 'capex', input: capexInput({ title: 'Tuned run' }), settings: quickTiming }, bearer(configurer));
    expect(tuned.status).toBe(201);
    const run = await getJson(`${runs()}/${tuned.body.runId}`);
    expect(run.body.policy).toMatchObject({ version: 1, overridden: true, effective: { approval: { timeout: '2h' } } });
    await terminateRuns(stack);
  });

  it("makes the key's person the requester unless the key may act for others", async () => {
    const casey = await stack.createKey('casey.nguyen@example.com', ['runs:start:capex', 'runs:read']);
    const { requester: _named, ...withoutRequester } = capexInput({ title: 'My own request' });
    const own = await postJson(runs(), { process: 'capex', input: withoutRequester }, bearer(casey));
    expect(own.status).toBe(201);
    const run = await getJson(`${runs()}/${own.body.runId}`, bearer(casey));
    expect(run.body.requester).toEqual({ name: 'Casey Nguyen', email: 'casey.nguyen@example.com' });

    const forAlex = await postJson(runs(), body(capexInput({ title: 'For someone else' })), bearer(casey));
    expect(forAlex.status).toBe(403);
    expect(forAlex.body.error.details.requiredScope).toBe('runs:act-for-others');

    const desk = await stack.createKey('ops.desk@example.com', ['runs:start:capex', 'runs:act-for-others']);
    expect((await postJson(runs(), body(capexInput({ title: 'On behalf' })), bearer(desk))).status).toBe(201);
    await terminateRuns(stack);
  });

  it('a revocation made anywhere ends the key at once on every API process that hears revocations', async () => {
    // A real API process, told to believe a verified key for a minute when it cannot hear revocations: only the
    // announcement can end the key sooner.
    let output = '';
    const api = await stack.startApiProcess({ env: { API_KEY_CACHE_MS: '60000' }, onOutput: (text) => (output += text) });
    try {
      // Keys it cached before it listened are forgotten when it starts to: the key must be cached after that.
      await waitUntil(async () => output.includes('hearing API key revocations'), 'the API process to listen for revocations');
      const key = await stack.createKey('morgan.lee@example.com', ['runs:read']);
      const id = apiKeyIdOf(key)!;
      const listRuns = () => fetch(`${api.url}/runs`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
      expect(await listRuns()).toBe(200);
      // Revoked as `npm run apikey revoke` (or another API process) does: nothing tells this process directly.
      await revokeApiKey(stack.db, id);
      await waitUntil(async () => (await listRuns()) === 401, 'the API process refusing the revoked key', 10_000);
    } finally {
      api.process.kill('SIGTERM');
    }
  });

  it('while it cannot hear revocations a process reads keys every API_KEY_CACHE_MS, and believes them longer once it hears again', async () => {
    const key = await stack.createKey('morgan.lee@example.com', ['runs:read']);
    const id = apiKeyIdOf(key)!;
    let now = Date.now();
    const cache = new ApiKeyCache({ ttlMs: 5_000, listeningTtlMs: 300_000, now: () => now });
    const heard: boolean[] = [];
    // Its own name: other test files' API processes listen on the same PostgreSQL server.
    const applicationName = `${REVOCATION_LISTENER_NAME}-${id}`;
    // It reconnects 5 s after losing its connection: long enough to look at the cache while it cannot hear.
    const listener = listenForKeyRevocations({
      databaseUrl: stack.runtimeDatabaseUrl,
      cache,
      logger: createLogger('api', 'silent'),
      applicationName,
      retryMs: { first: 5_000, max: 5_000 },
      onHearing: (on) => heard.push(on),
    });
    try {
      await listener.ready;
      const app = createApp({ db: stack.db, temporal: stack.temporal, config: stack.config, logger: createLogger('api', 'silent'), apiKeys: cache });
      const listRuns = async () => (await request(app).get('/runs').set('Authorization', `Bearer ${key}`)).status;
      expect(await listRuns()).toBe(200);
      // The listening connection is cut (a database restart, a network drop): the short bound applies again.
      const cut = await stack.db.$queryRaw<Array<{ done: boolean }>>`
        SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = ${applicationName}`;
      expect(cut).toEqual([{ done: true }]);
      await waitUntil(async () => heard.includes(false), 'the listener to notice its connection is gone');
      // Revoked while nobody listened, with no announcement heard: refused once the short bound has passed.
      await stack.db.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
      now += 5_000;
      expect(await listRuns()).toBe(401);
      // Still not hearing: the refusal came from the short bound, not from a reconnect forgetting everything.
      expect(cache.hearsRevocations).toBe(false);
      // It listens again: the longer bound is back, for keys read from now on.
      await waitUntil(async () => heard.at(-1) === true && heard.length >= 3, 'the listener to connect again');
      const other = await stack.createKey('morgan.lee@example.com', ['runs:read']);
      const listWithOther = async () => (await request(app).get('/runs').set('Authorization', `Bearer ${other}`)).status;
      expect(await listWithOther()).toBe(200);
      // A revocation whose announcement is lost (not made through revokeApiKey here) is the case the longer bound is for.
      await stack.db.apiKey.update({ where: { id: apiKeyIdOf(other)! }, data: { revokedAt: new Date() } });
      now += 60_000;
      expect(await listWithOther()).toBe(200);
      now += 240_000;
      expect(await listWithOther()).toBe(401);
    } finally {
      await listener.stop();
    }
  });

  it('never stores or logs a key in clear', async () => {
    const key = await stack.createKey('alex.rivera@example.com', ['runs:read']);
    const { secret } = apiKeyParts(key)!;
    const rows = await stack.db.$queryRaw<Array<Record<string, unknown>>>`SELECT * FROM "ApiKey"`;
    expect(JSON.stringify(rows)).not.toContain(secret);

    const lines: string[] = [];
    // The project's own logger (redaction included), as the servers build it; test/security/logs.test.ts goes further.
    const logger = createLogger('api', 'trace', new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const app = createApp({ db: stack.db, temporal: stack.temporal, config: stack.config, logger });
    await request(app).get('/runs').set('Authorization', `Bearer ${key}`).expect(200);
    await request(app).get('/runs').set('X-API-Key', key).expect(200);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(secret);
  });
});
