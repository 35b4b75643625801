import { createConfig, lintFromString } from '@redocly/openapi-core';
import type { Express } from 'express';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createApp } from '../../api/app.js';
import type { ApiContext } from '../../api/context.js';
import { buildOpenApiDocument } from '../../api/openapi.js';
import { openApiPath } from '../../api/route-table.js';
import { apiRoutes } from '../../api/routes/index.js';
import { createLogger } from '../../lib/logger.js';

/** Routes that are no JSON API: pages (HTML forms, the console), the spec itself, metrics. Listed, not specified. */
const notJsonApi = new Set([
  'GET /metrics',
  'GET /openapi.json',
  'GET /',
  'GET /approvals/:token',
  'POST /approvals/:token',
  'GET /forms/:token',
  'POST /forms/:token',
  'GET /revisions/:token',
  'POST /revisions/:token',
  // Slack's own callback (form-encoded, signed by Slack): Slack's API, not Opsflow's.
  'POST /integrations/slack/interactions',
]);
/** The ops console (/ops) and the approvers' inbox (/me) are server-rendered pages with their own forms. */
const isPage = (route: string) => / \/(ops|me)(\/|$)/.test(route) || notJsonApi.has(route);

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method + path Express would serve, found by walking the app's router stack (routers nested in it too). */
function expressRoutes(app: Express): string[] {
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) =>
      layer.route
        ? Object.keys(layer.route.methods).filter((m) => m !== '_all').map((m) => `${m.toUpperCase()} ${layer.route!.path}`)
        : layer.handle?.stack
          ? walk(layer.handle.stack)
          : [],
    );
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
}

function appWithoutBackends(): Express {
  // Building the app touches no database or Temporal: handlers do, and none runs here.
  const ctx = {
    db: {} as ApiContext['db'],
    temporal: {} as ApiContext['temporal'],
    config: { TEMPORAL_TASK_QUEUE: 'q', PUBLIC_BASE_URL: 'http://localhost:4000', API_BODY_LIMIT: '1mb', OPSFLOW_ALLOW_SHORT_DURATIONS: false },
    logger: createLogger('test', 'silent'),
  } satisfies ApiContext;
  return createApp(ctx);
}

/** The operations an integrator starts from: each shows an example of its request body and of every 2xx JSON answer. */
const exampled = ['startRun', 'listRuns', 'getRun', 'decide', 'cancelRun', 'getPolicy', 'setPolicy', 'receiveEvent', 'listEvents', 'createWebhook', 'createSchedule', 'createKey'];

/** A schema's issues with a value, one line each; [] when it parses. */
const issuesOf = (schema: z.ZodType, value: unknown) => (schema.safeParse(value).error?.issues ?? []).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);

/** Refusals whose body is the record they made, not an error: health's checks, the event recorded as unmatched. */
const answersWithRecord = new Set(['getHealth 503', 'recordRunEvent 409']);

describe('the route table is the API and its spec', () => {
  const document = buildOpenApiDocument('https://opsflow.example.org');

  it('passes Redocly lint with its recommended rules without an error', async () => {
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: 'openapi.json', config: await createConfig({ extends: ['recommended'] } as never) });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`);
    expect(errors).toEqual([]);
  });

  it('every JSON route Express serves has a spec entry, and every spec entry is served', () => {
    const served = expressRoutes(appWithoutBackends());
    const specified = new Set(apiRoutes.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    expect(served.filter((route) => !specified.has(route) && !isPage(route))).toEqual([]);
    expect([...specified].filter((route) => !served.includes(route))).toEqual([]);
    const documented = Object.entries(document.paths ?? {}).flatMap(([path, item]) => Object.keys(item as object).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(apiRoutes.map((r) => `${r.method.toUpperCase()} ${openApiPath(r.path)}`).sort());
  });

  it('names each operation once, says who may call it and documents the error shape on every 4xx and 5xx', () => {
    const operations = Object.values(document.paths ?? {}).flatMap((item) => Object.values(item as Record<string, Record<string, any>>));
    const ids = operations.map((op) => op.operationId as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(document.components?.securitySchemes ?? {}).sort()).toEqual(['apiKeyHeader', 'bearerAuth']);
    for (const op of operations) {
      expect(op.security, op.operationId).toBeDefined();
      const statuses = Object.keys(op.responses);
      // Only a public GET with nothing to get wrong (the catalog, health) has no 4xx to give.
      const refusable = op.security.length > 0 || op.parameters?.length || op.requestBody;
      if (refusable) expect(statuses.some((s) => s.startsWith('4')), `${op.operationId} has a 4xx`).toBe(true);
      for (const status of statuses.filter((s) => Number(s) >= 400 && !answersWithRecord.has(`${op.operationId} ${s}`))) {
        expect(op.responses[status].content['application/json'].schema, `${op.operationId} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
    expect(document.paths?.['/runs/{id}']?.get?.responses?.['200']).toMatchObject({ content: { 'application/json': { schema: { $ref: '#/components/schemas/Run' } } } });
  });

  it('shows an example of every request body and 2xx JSON answer of the main operations, each valid against its own schema', () => {
    const operations = new Map(
      Object.values(document.paths ?? {}).flatMap((item) => Object.values(item as Record<string, Record<string, any>>).map((op) => [op.operationId as string, op] as const)),
    );
    const checked: string[] = [];
    for (const operationId of exampled) {
      const route = apiRoutes.find((r) => r.operationId === operationId);
      const op = operations.get(operationId);
      expect(route && op, operationId).toBeTruthy();
      if (route!.request?.body) {
        const example = op!.requestBody.content['application/json'].example;
        expect(example, `${operationId} request body`).toBeDefined();
        expect(issuesOf(route!.request.body as z.ZodType, example), `${operationId} request body example`).toEqual([]);
        checked.push(`${operationId} body`);
      }
      for (const [status, doc] of Object.entries(route!.responses).filter(([status, doc]) => status.startsWith('2') && doc.schema)) {
        const example = op!.responses[status].content['application/json'].example;
        expect(example, `${operationId} ${status}`).toBeDefined();
        // As it is on the wire: what a client parses.
        expect(issuesOf(doc.schema!, JSON.parse(JSON.stringify(example))), `${operationId} ${status} example`).toEqual([]);
        checked.push(`${operationId} ${status}`);
      }
    }
    // Every one of them has a body or a JSON answer to show.
    expect(new Set(checked.map((c) => c.split(' ')[0]))).toEqual(new Set(exampled));
  });
});
