import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { ApiKeyCache, apiKeyIdOf, writeUsesTogether } from '../../lib/api-keys.js';
import { createLogger } from '../../lib/logger.js';
import { signWebhook } from '../../lib/webhook-signature.js';
import { ConsoleClient } from '../support/console-client.js';
import { capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson, waitForApprovalMail } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Authorization and input attacks from the issue's "smaller ones", each against the running API. */
describe('authorization and input', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const api = (path: string) => `${stack.apiUrl}${path}`;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  function signed(secret: string, body: string) {
    const id = `msg_${Math.random().toString(36).slice(2)}`;
    const timestamp = Math.floor(Date.now() / 1000);
    return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body) };
  }

  it('answers an event source named after an Object.prototype member like a bad signature (401), never 500', async () => {
    const body = JSON.stringify({ type: 'offer.accepted', data: {} });
    for (const source of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'nope']) {
      // Signed with a real source's secret, so only the lookup of the source can refuse it.
      const answer = await fetch(api(`/events/${source}`), { method: 'POST', headers: signed(stack.eventSecrets.ats, body), body });
      expect(answer.status, source).toBe(401);
      expect(await answer.json(), source).toEqual({ error: { code: 'unauthorized', message: 'Signature verification failed' } });
    }
    const real = await fetch(api('/events/ats'), { method: 'POST', headers: signed(stack.eventSecrets.ats, body), body });
    expect(real.status).toBe(202);
  });

  it('refuses JSON nested deeper than 32 levels with 422 on every JSON route; 20,000 levels never overflow the stack', async () => {
    const deepArray = '['.repeat(20_000) + ']'.repeat(20_000); // 40 KB: within every body limit
    const deepObject = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000); // 120 KB: for the 256 KB events routes
    // The issue's attack as it was sent: without the limit this answered 500 (the stack overflowed after parsing).
    const deepEvent = `{"source":"ats","type":"offer.accepted","data":${deepObject}}`;
    const runId = (await postJson(api('/runs'), { process: 'capex', input: capexInput({ amount: 2_500 }), settings: quickTiming })).body.runId as string;
    const { body: openapi } = await getJson(api('/openapi.json'));
    const jsonRoutes = Object.entries(openapi.paths as Record<string, Record<string, { operationId: string; requestBody?: { content: object } }>>).flatMap(([path, operations]) =>
      Object.entries(operations)
        // A signed event is verified before its JSON is read (checked below), so an unsigned one is a 401 first.
        .filter(([, operation]) => operation.requestBody && 'application/json' in operation.requestBody.content && operation.operationId !== 'receiveEvent')
        .map(([method, ]) => [method.toUpperCase(), path.replace('{id}', runId).replace('{requestId}', 'r1').replace('{email}', 'morgan.lee@example.com')] as const),
    );
    expect(jsonRoutes.length).toBeGreaterThanOrEqual(10);
    // Routes without a documented body parse JSON too (the parser is app-wide), e.g. cancel.
    const routes = [...jsonRoutes, ['POST', `/runs/${runId}/cancel`] as const];
    for (const [method, path] of routes) {
      for (const body of path.endsWith('/events') ? [deepArray, deepEvent] : [deepArray]) {
        const answer = await fetch(api(path), { method, headers: { 'content-type': 'application/json', ...as(stack.adminKey) }, body });
        expect(answer.status, `${method} ${path}`).toBe(422);
        expect(((await answer.json()) as { error: { details: unknown } }).error.details, `${method} ${path}`).toEqual({
          issues: [{ path: '(root)', message: 'objects and arrays may nest at most 32 levels' }],
        });
      }
    }
    // Signed events are checked after the signature, before parsing.
    const signedDeep = await fetch(api('/events/ats'), { method: 'POST', headers: signed(stack.eventSecrets.ats, deepObject), body: deepObject });
    expect(signedDeep.status).toBe(422);
    // 32 levels are fine as far as depth goes (the schema then says what is wrong).
    const at32 = await fetch(api(`/runs/${runId}/events`), { method: 'POST', headers: { 'content-type': 'application/json', ...as(stack.adminKey) }, body: JSON.stringify({ source: 'ats', type: 'x', data: JSON.parse('{"a":'.repeat(30) + '1' + '}'.repeat(30)) }) });
    expect(at32.status).not.toBe(422);
    expect((await fetch(api('/healthz'))).status).toBe(200);
  });

  it('refuses a policy nested deeper than 32 levels in the console form: 422 naming the field, what was typed kept (it was a 500)', async () => {
    const opsConsole = new ConsoleClient(stack.apiUrl);
    await opsConsole.signIn(await stack.createKey('dana.whitfield@example.com', ['runs:read', 'policies:write']));
    const { body: before } = await getJson(api('/processes/capex/policy'));
    await opsConsole.get('/ops/processes/capex/policy');
    const save = (policy: string) => opsConsole.post('/ops/processes/capex/policy', { policy, reason: 'nest it', basedOn: String(before.version) });

    // 60 KB URL-encoded: within the console's 100 KB form limit, and deep enough to overflow a recursive walk.
    const deepArray = '['.repeat(10_000) + ']'.repeat(10_000);
    const refused = await save(deepArray);
    expect(refused.status).toBe(422);
    expect(refused.html).toContain('<li><code>policy</code>: objects and arrays may nest at most 32 levels</li>');
    expect(refused.html).toContain(`class="code">${deepArray}</textarea>`);
    // 32 levels are fine as far as depth goes: the schema then says what is wrong.
    const at32 = await save('['.repeat(32) + ']'.repeat(32));
    expect(at32.status).toBe(422);
    expect(at32.html).not.toContain('may nest at most');
    expect((await getJson(api('/processes/capex/policy'))).body.version).toBe(before.version);
  });

  it('needs directory:read for the directory and other people\'s delegations (own entry and delegations stay readable)', async () => {
    const noScope = await stack.createKey('casey.nguyen@example.com', []);
    const reader = await stack.createKey('casey.nguyen@example.com', ['directory:read']);
    const paths = ['/directory/people', '/directory/people?role=cfo', '/directory/people/sam.okafor@example.com', '/directory/people/sam.okafor@example.com/delegations'];
    for (const path of paths) {
      const denied = await getJson(api(path), as(noScope));
      expect(denied.status, path).toBe(403);
      expect(denied.body.error.details, path).toEqual({ requiredScope: 'directory:read' });
      expect((await getJson(api(path), as(reader))).status, path).toBe(200);
      expect((await getJson(api(path), as(stack.adminKey))).status, path).toBe(200);
    }
    expect((await getJson(api('/directory/people/casey.nguyen@example.com'), as(noScope))).status).toBe(200);
    expect((await getJson(api('/directory/people/casey.nguyen@example.com/delegations'), as(noScope))).status).toBe(200);
  });

  it('writes ApiKey.lastUsedAt, at most once a minute per key', async () => {
    let now = Date.now();
    // Its own app, with a clock the test moves: the key cache (API_KEY_CACHE_MS) and the minute are both on it.
    const app = createApp({ db: stack.db, temporal: stack.temporal, config: stack.config, logger: createLogger('api', 'silent'), apiKeys: new ApiKeyCache({ ttlMs: 5_000, now: () => now }) });
    const key = await stack.createKey('alex.rivera@example.com', ['runs:read']);
    const id = apiKeyIdOf(key)!;
    const lastUsedAt = async () => (await stack.db.apiKey.findUniqueOrThrow({ where: { id } })).lastUsedAt;
    const use = () => request(app).get('/runs').set('Authorization', `Bearer ${key}`).expect(200);
    expect(await lastUsedAt()).toBeNull();
    await use();
    const first = await lastUsedAt();
    expect(first).toBeInstanceOf(Date);
    await use();
    now += 10_000; // past the cache's bound: the row is read again, and says it was used 10 s ago
    await use();
    now += 48_000; // read again (58 s after the write), then served from the cache when the minute is up
    await use();
    expect(await lastUsedAt()).toEqual(first);
    now += 3_000;
    await use();
    expect((await lastUsedAt())!.getTime()).toBe(now);
    // Set back by hand (as if long unused): once the bound has passed the row is read again and, older than a minute, written.
    const twoMinutesAgo = new Date(now - 120_000);
    await stack.db.apiKey.update({ where: { id }, data: { lastUsedAt: twoMinutesAgo } });
    now += 6_000;
    await use();
    expect((await lastUsedAt())!.getTime()).toBe(now);
  });

  it('as the API runs it, writes the lastUsedAt of every key together, once a minute, and never moves one back', async () => {
    let now = Date.now();
    const apiKeys = new ApiKeyCache({ ttlMs: 5_000, now: () => now, deferLastUsed: true });
    const app = createApp({ db: stack.db, temporal: stack.temporal, config: stack.config, logger: createLogger('api', 'silent'), apiKeys });
    const keys = [await stack.createKey('alex.rivera@example.com', ['runs:read']), await stack.createKey('morgan.lee@example.com', ['runs:read'])];
    const ids = keys.map((key) => apiKeyIdOf(key)!);
    const lastUsed = async () => (await stack.db.apiKey.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } })).map((k) => ({ id: k.id, at: k.lastUsedAt?.getTime() ?? null }));
    const expected = (at: Array<number | null>) => ids.map((id, i) => ({ id, at: at[i] })).sort((a, b) => (a.id < b.id ? -1 : 1));
    const use = (key: string) => request(app).get('/runs').set('Authorization', `Bearer ${key}`).expect(200);

    // The requests write nothing; the minute's write records both keys' first use, in one statement.
    const firstUse = now;
    await use(keys[0]!);
    now += 1_000;
    await use(keys[1]!);
    await use(keys[0]!);
    expect(await lastUsed()).toEqual(expected([null, null]));
    expect(await writeUsesTogether(stack.db, apiKeys)).toBe(2);
    expect(await lastUsed()).toEqual(expected([firstUse, firstUse + 1_000]));
    // Within the minute nothing more is noted; past it, the next use is.
    now += 30_000;
    await use(keys[0]!);
    expect(await writeUsesTogether(stack.db, apiKeys)).toBe(0);
    now += 31_000;
    await use(keys[0]!);
    await use(keys[1]!);
    // Another process recorded a later use of the second key meanwhile: that one stays.
    await stack.db.apiKey.update({ where: { id: ids[1]! }, data: { lastUsedAt: new Date(now + 10_000) } });
    expect(await writeUsesTogether(stack.db, apiKeys)).toBe(1);
    expect(await lastUsed()).toEqual(expected([now, now + 10_000]));
  });

  it('npm run apikey refuses unknown scopes, naming them', async () => {
    const cli = (scopes: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'dev/apikey.ts', 'create', '--name', 'cli test', '--email', 'alex.rivera@example.com', '--scopes', scopes], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: stack.config.DATABASE_URL },
      }).then(
        ({ stdout }) => ({ code: 0, output: stdout }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, output: error.stdout + error.stderr }),
      );
    const before = await stack.db.apiKey.count();
    const refused = await cli('runs:read,runs:raed,runs:start:nope');
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('unknown scopes "runs:raed", "runs:start:nope"');
    expect(await stack.db.apiKey.count()).toBe(before);
    const created = await cli('runs:read,runs:start:capex,directory:read');
    expect(created.code).toBe(0);
    expect(created.output).toMatch(/opk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}/);
    expect(await stack.db.apiKey.count()).toBe(before + 1);
  });

  it('shows a directory requester by the directory name, and bidi controls and zero-width characters visibly, to approvers', async () => {
    const casey = await stack.createKey('casey.nguyen@example.com', ['runs:start:capex', 'runs:read']);
    const title = 'Forklift \u202Eecnarf\u202C invoice';
    const started = await postJson(
      api('/runs'),
      {
        process: 'capex',
        input: capexInput({ title, amount: 2_500, vendor: 'Pay\u200Bpal\u2060 Ltd', requester: { name: 'Jordan Blake (CEO)', email: 'casey.nguyen@example.com' } }),
      },
      as(casey),
    );
    expect(started.status).toBe(201);
    const run = await getJson(api(`/runs/${started.body.runId}`), as(casey));
    expect(run.body.requester).toEqual({ name: 'Casey Nguyen', email: 'casey.nguyen@example.com' });

    const { mail, link } = await waitForApprovalMail(stack, 'morgan.lee@example.com', { subject: /Forklift/ });
    expect(mail.subject).toBe('Approval needed: Forklift [U+202E]ecnarf[U+202C] invoice (Capex sign-off)');
    for (const part of [mail.subject, mail.text, mail.html ?? '']) {
      expect(part).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B\u2060]/);
      expect(part).not.toContain('Jordan Blake');
    }
    expect(mail.text).toContain('Casey Nguyen asks for your approval.');
    expect(mail.text).toContain('Paypal Ltd');
    const page = await (await fetch(link)).text();
    expect(page).toContain('Forklift [U+202E]ecnarf[U+202C] invoice');
    expect(page).toContain('Paypal Ltd');
    expect(page).toContain('Casey Nguyen');
    expect(page).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200B\u2060]/);
    expect(page).not.toContain('Jordan Blake');
  });
});
