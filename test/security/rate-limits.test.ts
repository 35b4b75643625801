import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvers, capexInput, quickTiming } from '../support/fixtures.js';
import { ConsoleClient, startExtraApi } from '../support/console-client.js';
import { currentVersion, getJson, postJson, submitDecision, waitForApprovalMail, waitUntil } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

const limits = { perClient: 6, perKeyId: 3, windowMs: 60_000 };

/**
 * Failed key checks are limited by client and by key id, and the client is the socket's peer: without TRUST_PROXY
 * a spoofed X-Forwarded-For changes neither a rate limit nor the IP the audit log records. (A second API with
 * TRUST_PROXY=loopback shows the same requests do move both when a proxy is trusted, so these checks can fail.)
 */
describe('rate limits and X-Forwarded-For', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ failedKeyCheckLimits: limits, approvalRateLimitPerMinute: 5 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const bearer = (key: string, forwardedFor?: string) => ({ authorization: `Bearer ${key}`, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) });
  const wrongSecretFor = (key: string) => key.replace(/_[^_]+$/, `_${'A'.repeat(43)}`);
  const randomKeyShape = (n: number) => `opk_${`guess${n}`.padEnd(12, 'x')}_${'B'.repeat(43)}`;

  async function openLink(title: string): Promise<{ runId: string; link: string }> {
    const started = await postJson(`${stack.apiUrl}/runs`, { process: 'capex', input: capexInput({ title, amount: 2_500 }), settings: quickTiming });
    const { link } = await waitForApprovalMail(stack, approvers.lineManager, { subject: new RegExp(title) });
    return { runId: started.body.runId as string, link };
  }

  async function decidedFrom(runId: string): Promise<string | null> {
    const entry = await waitUntil(async () => (await stack.db.auditEntry.findMany({ where: { runId, action: 'approval.decided' } }))[0], 'the decision audit entry');
    return entry.ip;
  }

  it('audits the socket peer, not a spoofed X-Forwarded-For (and the header when TRUST_PROXY names the proxy)', async () => {
    const spoofed = await openLink('Spoofed forwarded-for');
    const decided = await fetch(spoofed.link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.7' },
      body: new URLSearchParams({ decision: 'approve', version: await currentVersion(stack, spoofed.runId) }),
    });
    expect(decided.status).toBe(200);
    expect(await decidedFrom(spoofed.runId)).toMatch(/^(::ffff:)?127\.0\.0\.1$/);

    const delegation = await postJson(
      `${stack.apiUrl}/directory/people/morgan.lee@example.com/delegations`,
      { delegateEmail: 'casey.nguyen@example.com', startsAt: '2027-02-01T00:00:00Z', endsAt: '2027-02-05T00:00:00Z' },
      { 'x-forwarded-for': '203.0.113.8' },
    );
    expect(delegation.status).toBe(201);
    const audit = await stack.db.auditEntry.findFirstOrThrow({ where: { action: 'delegation.created' } });
    expect(audit.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);

    const behindProxy = await startExtraApi(stack, { TRUST_PROXY: ['loopback'] });
    try {
      const proxied = await openLink('Through a trusted proxy');
      const viaProxy = proxied.link.replace(stack.apiUrl, behindProxy.url);
      const answer = await fetch(viaProxy, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '203.0.113.9' },
        body: new URLSearchParams({ decision: 'approve', version: await currentVersion(stack, proxied.runId) }),
      });
      expect(answer.status).toBe(200);
      expect(await decidedFrom(proxied.runId)).toBe('203.0.113.9');
    } finally {
      await behindProxy.close();
    }
  });

  it('counts approval-link requests per peer however X-Forwarded-For varies', async () => {
    const link = `${stack.apiUrl}/approvals/${'C'.repeat(43)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(link, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status);
    // 5 a minute per peer; the decision posted to this API above used one.
    expect(statuses).toEqual([404, 404, 404, 404, 429, 429, 429]);
  });

  it('limits failed key checks by key id: after 3 wrong secrets even the right key waits (429 with Retry-After)', async () => {
    const key = await stack.createKey('alex.rivera@example.com', ['runs:read']);
    for (let i = 0; i < limits.perKeyId; i++) expect((await getJson(`${stack.apiUrl}/runs`, bearer(wrongSecretFor(key), `192.0.2.${i}`))).status).toBe(401);
    const locked = await fetch(`${stack.apiUrl}/runs`, { headers: bearer(key) });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await locked.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    // Other keys from this client are not locked out by it (3 failures < 6 per client).
    expect((await getJson(`${stack.apiUrl}/runs`, bearer(stack.adminKey))).status).toBe(200);
  });

  it('limits failed key checks by client; a spoofed X-Forwarded-For does not make a new client (API and console sign-in)', async () => {
    // 3 failures so far from this peer; 3 more, each "from" another address, reach the per-client limit of 6.
    for (let i = 0; i < limits.perClient - limits.perKeyId; i++) {
      expect((await getJson(`${stack.apiUrl}/runs`, bearer(randomKeyShape(i), `203.0.113.${10 + i}`))).status).toBe(401);
    }
    const blocked = await fetch(`${stack.apiUrl}/runs`, { headers: bearer(stack.adminKey, '203.0.113.99') });
    expect(blocked.status).toBe(429);
    const console = new ConsoleClient(stack.apiUrl);
    await console.get('/ops/login');
    const signIn = await console.post('/ops/login', { key: stack.adminKey }, { 'x-forwarded-for': '203.0.113.100' });
    expect(signIn.status).toBe(429);
    expect(signIn.html).toContain('Too many failed key checks');
    expect(signIn.setCookies.some((c) => c.startsWith('opsflow_session='))).toBe(false);

    // The same requests through a trusted proxy are counted per forwarded client: 203.0.113.50 is limited, .51 is not.
    const behindProxy = await startExtraApi(stack, { TRUST_PROXY: ['loopback'] }, { failedKeyCheckLimits: limits });
    try {
      for (let i = 0; i < limits.perClient; i++) await getJson(`${behindProxy.url}/runs`, bearer(randomKeyShape(20 + i), '203.0.113.50'));
      expect((await getJson(`${behindProxy.url}/runs`, bearer(stack.adminKey, '203.0.113.50'))).status).toBe(429);
      expect((await getJson(`${behindProxy.url}/runs`, bearer(stack.adminKey, '203.0.113.51'))).status).toBe(200);
    } finally {
      await behindProxy.close();
    }
  });
});
