import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

describe('public approval routes are rate-limited', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ worker: 'none', approvalRateLimitPerMinute: 5 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 429 with Retry-After once a client exceeds the limit, and leaves the API alone', async () => {
    const link = `${stack.apiUrl}/approvals/${'B'.repeat(43)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(link)).status);
    expect(statuses.slice(0, 5)).toEqual([404, 404, 404, 404, 404]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    const limited = await fetch(link, { method: 'POST', body: new URLSearchParams({ decision: 'approve' }) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await fetch(`${stack.apiUrl}/healthz`)).status).toBe(200);
  });
});
