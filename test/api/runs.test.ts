import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capexInput, quickTiming } from '../support/fixtures.js';
import { getJson, postJson } from '../support/http.js';
import { startStack, type Stack } from '../support/stack.js';

describe('runs API', () => {
  let stack: Stack;
  beforeAll(async () => {
    // No worker: these tests only need runs to be accepted and recorded.
    stack = await startStack({ worker: 'none' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const runs = () => `${stack.apiUrl}/runs`;

  it('names every invalid field by its path', async () => {
    const input = { ...capexInput(), amount: 12.345, currency: 'eur', requester: { name: '', email: 'not-an-email' } };
    const { status, body } = await postJson(runs(), { process: 'capex', input });
    expect(status).toBe(422);
    expect(body.error.code).toBe('validation_failed');
    const paths = body.error.details.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['input.amount', 'input.currency', 'input.requester.name', 'input.requester.email']));
    const amount = body.error.details.issues.find((i: { path: string }) => i.path === 'input.amount');
    expect(amount.message).toContain('2 decimals');
    expect(await stack.db.run.count()).toBe(0);
  });

  it('refuses negative amounts, unknown currencies and bad settings', async () => {
    const negative = await postJson(runs(), { process: 'capex', input: capexInput({ amount: -5 }) });
    expect(negative.body.error.details.issues[0]).toMatchObject({ path: 'input.amount', message: 'must be greater than 0' });
    const unknown = await postJson(runs(), { process: 'capex', input: capexInput({ currency: 'XYZ' }) });
    expect(unknown.body.error.details.issues[0].path).toBe('input.currency');
    const settings = await postJson(runs(), { process: 'capex', input: capexInput(), settings: { approval: { timeout: 'soon' } } });
    expect(settings.status).toBe(422);
    expect(settings.body.error.details.issues[0].path).toBe('settings.approval.timeout');
  });

  it('answers 404 for an unknown process, 400 for malformed JSON, 413 for an oversized body', async () => {
    const unknown = await postJson(runs(), { process: 'teleport', input: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('teleport');

    const malformed = await fetch(runs(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"process": "capex",' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('bad_request');

    const huge = await postJson(runs(), { process: 'capex', input: capexInput({ justification: 'x'.repeat(200_000) }) });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');

    const missing = await postJson(runs(), { input: capexInput() });
    expect(missing.status).toBe(422);
    expect(missing.body.error.details.issues[0].path).toBe('process');
  });

  it('starts a run at once and shows it, with its workflow started under the same id', async () => {
    const started = await postJson(runs(), { process: 'capex', input: capexInput(), settings: quickTiming });
    expect(started.status).toBe(201);
    const { body } = await getJson(`${runs()}/${started.body.runId}`);
    expect(body).toMatchObject({ runId: started.body.runId, process: 'capex', status: 'running', amount: 250000, currency: 'EUR' });
    expect(body.requester).toEqual({ name: 'Alex Rivera', email: 'alex.rivera@example.com' });
    const description = await stack.temporal.workflow.getHandle(started.body.runId).describe();
    expect(description.type).toBe('capexWorkflow');
    expect(description.taskQueue).toBe(stack.taskQueue);
    await stack.temporal.workflow.getHandle(started.body.runId).terminate('test cleanup');
  });

  it('Idempotency-Key: same key and body → same run; same key, other body → 422', async () => {
    const key = `idem-${Date.now()}`;
    const request = { process: 'capex', input: capexInput({ title: 'Idempotent request' }), settings: quickTiming };
    const [a, b] = await Promise.all([postJson(runs(), request, { 'Idempotency-Key': key }), postJson(runs(), request, { 'Idempotency-Key': key })]);
    expect(a.body.runId).toBe(b.body.runId);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    const again = await postJson(runs(), request, { 'Idempotency-Key': key });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.runId).toBe(a.body.runId);
    expect(await stack.db.run.count({ where: { title: 'Idempotent request' } })).toBe(1);

    const other = await postJson(runs(), { ...request, input: capexInput({ title: 'Another body' }) }, { 'Idempotency-Key': key });
    expect(other.status).toBe(422);
    expect(other.body.error.details.issues[0].path).toBe('Idempotency-Key');
    await stack.temporal.workflow.getHandle(a.body.runId).terminate('test cleanup');
  });

  it('lists runs newest first with filters and cursor paging', async () => {
    for (let i = 0; i < 5; i++) {
      const started = await postJson(runs(), { process: 'capex', input: capexInput({ title: `Paged ${i}` }), settings: quickTiming });
      await stack.temporal.workflow.getHandle(started.body.runId).terminate('test cleanup');
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = new URLSearchParams({ process: 'capex', limit: '2', ...(cursor ? { cursor } : {}) }).toString();
      const page = await getJson(`${runs()}?${query}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((r: { title: string }) => r.title));
      cursor = page.body.nextCursor;
    } while (cursor);
    const paged = seen.filter((t) => t.startsWith('Paged'));
    expect(paged).toEqual(['Paged 4', 'Paged 3', 'Paged 2', 'Paged 1', 'Paged 0']);
    expect(new Set(seen).size).toBe(seen.length);

    const none = await getJson(`${runs()}?status=completed`);
    expect(none.body.items).toEqual([]);
    const bad = await getJson(`${runs()}?status=sleeping&limit=1000`);
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['query.limit', 'query.status']);
  });

  it('404s an unknown run and its cancel', async () => {
    expect((await getJson(`${runs()}/capex-nope`)).status).toBe(404);
    expect((await postJson(`${runs()}/capex-nope/cancel`, {})).status).toBe(404);
  });

  it('lists the process catalog with JSON Schema, serves OpenAPI and health', async () => {
    const catalog = await getJson(`${stack.apiUrl}/processes`);
    const capex = catalog.body.items.find((p: { key: string }) => p.key === 'capex');
    expect(capex.title).toBe('Capex sign-off');
    expect(capex.inputSchema.properties.amount.type).toBe('number');
    expect(capex.inputSchema.required).toEqual(expect.arrayContaining(['title', 'amount', 'currency', 'requester']));
    const openapi = await getJson(`${stack.apiUrl}/openapi.json`);
    expect(openapi.body.openapi).toBe('3.1.0');
    // Checked by Redocly's linter with its recommended rules (structure, operationIds, security, 4xx answers), as served.
    const problems = await lintFromString({ source: JSON.stringify(openapi.body), absoluteRef: 'openapi.json', config: await createConfig({ extends: ['recommended'] } as never) });
    expect(problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
    expect(openapi.body.paths['/runs'].post).toBeDefined();
    const health = await getJson(`${stack.apiUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body.checks).toEqual({ database: { ok: true }, temporal: { ok: true }, runs: { ok: true, stuck: 0 } });
  });
});
