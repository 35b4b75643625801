import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { apiRoutes, apiTags } from './routes/index.js';
import { openApiPath, paramsSchemaOf, responsesOf, type AnyRoute, type ResponseDoc } from './route-table.js';

const BEARER = 'bearerAuth';
const API_KEY_HEADER = 'apiKeyHeader';

function responseObject(doc: ResponseDoc) {
  const headers = doc.headers ? Object.fromEntries(Object.entries(doc.headers).map(([name, description]) => [name, { description, schema: { type: 'string' as const } }])) : undefined;
  const content = doc.schema
    ? { 'application/json': { schema: doc.schema, ...(doc.example !== undefined ? { example: doc.example } : {}) } }
    : doc.contentType
      ? Object.fromEntries([doc.contentType].flat().map((type) => [type, { schema: z.string() }]))
      : undefined;
  return { description: doc.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
}

function accessText(route: AnyRoute): string | undefined {
  if (route.auth === 'none') return 'No API key needed.';
  if (route.scope) return `Scope \`${route.scope}\`.`;
  if (route.accessNote) return `Access: ${route.accessNote}.`;
  return undefined;
}

function routeConfig(route: AnyRoute): RouteConfig {
  const request = route.request ?? {};
  const params = paramsSchemaOf(route);
  const description = [route.description, accessText(route)].filter(Boolean).join('\n\n');
  return {
    method: route.method,
    path: openApiPath(route.path),
    operationId: route.operationId,
    summary: route.summary,
    ...(description ? { description } : {}),
    tags: [route.tag],
    security: route.auth === 'none' ? [] : [{ [BEARER]: [] }, { [API_KEY_HEADER]: [] }],
    request: {
      ...(params ? { params } : {}),
      ...(request.query ? { query: request.query as z.ZodObject } : {}),
      ...(request.headers ? { headers: request.headers } : {}),
      ...(request.body
        ? { body: { required: true, content: { 'application/json': { schema: request.body, ...(request.bodyExample !== undefined ? { example: request.bodyExample } : {}) } } } }
        : {}),
    },
    responses: Object.fromEntries(Object.entries(responsesOf(route)).map(([status, doc]) => [status, responseObject(doc)])),
  };
}

/** The OpenAPI document of the route table: every JSON route, its access, schemas, errors and examples. */
export function buildOpenApiDocument(serverUrl: string, routes: readonly AnyRoute[] = apiRoutes) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER, {
    type: 'http',
    scheme: 'bearer',
    description: 'An Opsflow API key (`opk_<id>_<secret>`) as `Authorization: Bearer <key>`',
  });
  registry.registerComponent('securitySchemes', API_KEY_HEADER, { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same API key in `X-API-Key`' });
  for (const route of routes) registry.registerPath(routeConfig(route));

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Opsflow API',
      version: '0.1.0',
      description:
        'Start and follow runs of operational processes. Approvers act through e-mailed links or `POST /runs/{id}/decisions`. ' +
        'Every error is `{ error: { code, message, details? } }`.',
      license: { name: 'UNLICENSED', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: serverUrl }],
    tags: apiTags,
  });
}
