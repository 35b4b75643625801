import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyIdOf, apiKeyParts } from '../../lib/api-keys.js';
import { capexInput, quickTiming } from '../support/fixtures.js';
import { ConsoleClient, startExtraApi } from '../support/console-client.js';
import { postJson, waitForRunStatus } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * The ops console's sessions and forms, attacked as the issue describes: the cookie must not be the key, sign-out
 * must kill the cookie everywhere, a page on another origin (another port of the same host included, which
 * SameSite does not separate) must not be able to post, and a cross-site post must not sign a browser in.
 */
describe('ops console sessions and CSRF', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const keySecret = (key: string) => apiKeyParts(key)!.secret;
  const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

  async function startRun(title: string): Promise<string> {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 2_500 }), settings: quickTiming });
    expect(started.status).toBe(201);
    return started.body.runId as string;
  }

  it('signs in to a server-side session: an HttpOnly, SameSite=Strict cookie with a random id, never the key', async () => {
    const browser = new ConsoleClient(stack.apiUrl);
    const signIn = await browser.signIn(stack.adminKey);
    expect(signIn.status).toBe(303);
    expect(signIn.location).toBe('/ops');
    const sessionCookie = signIn.setCookies.find((c) => c.startsWith('opsflow_session='))!;
    expect(sessionCookie).toMatch(/^opsflow_session=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/ops; Expires=[^;]+; HttpOnly; SameSite=Strict$/);
    expect(signIn.setCookies.join('\n')).not.toContain(keySecret(stack.adminKey));

    const cookieValue = browser.cookies.get('opsflow_session')!;
    const rows = await stack.db.consoleSession.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ idHash: sha256(cookieValue), apiKeyId: apiKeyIdOf(stack.adminKey), revokedAt: null });
    expect(JSON.stringify(rows)).not.toContain(cookieValue);
    expect(JSON.stringify(rows)).not.toContain(keySecret(stack.adminKey));
    expect((await browser.get('/ops')).status).toBe(200);
  });

  it('marks the cookies Secure when PUBLIC_BASE_URL is https', async () => {
    const https = await startExtraApi(stack, { PUBLIC_BASE_URL: 'https://ops.example.test' });
    try {
      const browser = new ConsoleClient(https.url);
      const form = await browser.get('/ops/login');
      expect(form.setCookies[0]).toMatch(/^opsflow_login=.*; Secure; SameSite=Strict$/);
      const signIn = await browser.post('/ops/login', { key: stack.adminKey });
      expect(signIn.setCookies.find((c) => c.startsWith('opsflow_session='))).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
    } finally {
      await https.close();
    }
  });

  it('sign-out revokes the session: the old cookie afterwards gets page → 303 to sign-in, POST → 401', async () => {
    const runId = await startRun('Cancel after sign-out');
    const browser = new ConsoleClient(stack.apiUrl);
    await browser.signIn(stack.adminKey);
    await browser.get(`/ops/runs/${runId}`);
    const stolen = { cookie: browser.cookieHeader(), csrf: browser.lastCsrfToken! };

    const signOut = await browser.post('/ops/logout', {});
    expect(signOut).toMatchObject({ status: 303, location: '/ops/login' });
    expect(signOut.setCookies.find((c) => c.startsWith('opsflow_session='))).toMatch(/^opsflow_session=; Path=\/ops; Expires=Thu, 01 Jan 1970/);
    expect((await stack.db.consoleSession.findFirstOrThrow({ where: { idHash: sha256(stolen.cookie.replace(/^.*opsflow_session=([^;]+).*$/, '$1')) } })).revokedAt).not.toBeNull();

    // The copy of the cookie someone kept (or the browser did not drop) is dead server-side.
    const replay = new ConsoleClient(stack.apiUrl);
    const page = await replay.get('/ops', { cookie: stolen.cookie });
    expect(page).toMatchObject({ status: 303, location: '/ops/login' });
    expect((await replay.get(`/ops/runs/${runId}`, { cookie: stolen.cookie })).status).toBe(303);
    const cancel = await replay.post(`/ops/runs/${runId}/cancel`, { _csrf: stolen.csrf }, { cookie: stolen.cookie });
    expect(cancel.status).toBe(401);
    expect(cancel.html).toContain('Your session ended');
    // The cookie of before this change held the raw key: it opens nothing now.
    expect((await replay.get('/ops', { cookie: `opsflow_key=${encodeURIComponent(stack.adminKey)}` })).status).toBe(303);
    expect((await stack.db.run.findUniqueOrThrow({ where: { id: runId } })).status).toBe('running');
  });

  it('refuses a cross-origin console POST with 403 (another port of this host too), and one without the CSRF token', async () => {
    const runId = await startRun('Cross-origin cancel');
    const victim = new ConsoleClient(stack.apiUrl);
    await victim.signIn(stack.adminKey);
    await victim.get(`/ops/runs/${runId}`);
    const otherPort = `http://127.0.0.1:${Number(new URL(stack.apiUrl).port) + 1}`;

    const attempts: Array<[string, Record<string, string | null>, Record<string, string>]> = [
      ['Origin of another port, with a valid token', {}, { origin: otherPort, 'sec-fetch-site': 'same-site' }],
      ['Origin of another port, no Sec-Fetch-Site', {}, { origin: otherPort, 'sec-fetch-site': '' }],
      ['Sec-Fetch-Site cross-site', {}, { origin: 'null', 'sec-fetch-site': 'cross-site' }],
      ['same origin without the CSRF token', { _csrf: null }, {}],
      ['same origin with a wrong CSRF token', { _csrf: 'A'.repeat(43) }, {}],
    ];
    for (const [what, form, headers] of attempts) {
      const answer = await victim.post(`/ops/runs/${runId}/cancel`, { reason: 'Cancelled from another site', ...form }, Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== '')));
      expect(answer.status, what).toBe(403);
    }
    // Another signed-in person's token does not fit this session either.
    const other = new ConsoleClient(stack.apiUrl);
    await other.signIn(stack.adminKey);
    await other.get(`/ops/runs/${runId}`);
    expect((await victim.post(`/ops/runs/${runId}/cancel`, { reason: 'Cancelled with a stolen token', _csrf: other.lastCsrfToken! })).status).toBe(403);
    const workflow = await stack.temporal.workflow.getHandle(runId).describe();
    expect(workflow.status.name).toBe('RUNNING');
    expect((await stack.db.run.findUniqueOrThrow({ where: { id: runId } })).status).toBe('running');

    // The console's own form, with its token, still works.
    expect((await victim.post(`/ops/runs/${runId}/cancel`, { reason: 'Raised twice by mistake' })).status).toBe(303);
    await waitForRunStatus(stack, runId, 'cancelled');
  });

  it('closes login CSRF: a post from another site cannot sign a browser in with the attacker\'s key', async () => {
    const attackerKey = await stack.createKey('casey.nguyen@example.com', ['runs:read']);
    const before = await stack.db.consoleSession.count();
    const victim = new ConsoleClient(stack.apiUrl);
    await victim.get('/ops/login'); // the victim has the sign-in page open: the login cookie exists
    const foreignOrigin = await victim.post('/ops/login', { key: attackerKey, _csrf: null }, { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' });
    expect(foreignOrigin.status).toBe(403);
    // Even from the right origin, a form the attacker wrote cannot carry the token of the victim's sign-in page.
    const noToken = await victim.post('/ops/login', { key: attackerKey, _csrf: 'A'.repeat(43) });
    expect(noToken.status).toBe(403);
    // And a post that does not say where it came from is not trusted to sign in.
    const unproven = await victim.post('/ops/login', { key: attackerKey }, { origin: 'null', 'sec-fetch-site': '' });
    expect(unproven.status).toBe(403);
    for (const answer of [foreignOrigin, noToken, unproven]) expect(answer.setCookies.some((c) => c.startsWith('opsflow_session='))).toBe(false);
    expect(await stack.db.consoleSession.count()).toBe(before);
  });

  it('puts the CSRF token into every console form', async () => {
    const browser = new ConsoleClient(stack.apiUrl);
    await browser.signIn(stack.adminKey);
    const runId = await startRun('Forms carry tokens');
    for (const path of ['/ops', '/ops/runs', `/ops/runs/${runId}`, '/ops/start/capex', '/ops/processes/capex/policy']) {
      const { html } = await browser.get(path);
      const posts = html.match(/<form method="post"[^>]*>/g) ?? [];
      expect(posts.length, path).toBeGreaterThan(0);
      expect(html.match(/<form method="post"[^>]*><input type="hidden" name="_csrf" value="[A-Za-z0-9_-]{43}">/g)?.length, path).toBe(posts.length);
    }
    expect((await postJson(`${stack.apiUrl}/runs/${runId}/cancel`, { reason: 'No longer needed' })).status).toBe(202);
  });
});
