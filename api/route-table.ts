import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { addLogFields, withLogContext, type LogContext } from '../lib/log-context.js';
import { authenticate, requireScope } from './auth.js';
import type { ApiContext } from './context.js';
import { parseOr422 } from './errors.js';
import { jsonBody } from './json-body.js';

/**
 * One table is the API and its spec: each JSON route declares method, path, access, request and response schemas,
 * summary and operationId once. `mountRoutes` builds the Express routes from it, `registerRoutes` (api/openapi.ts)
 * the OpenAPI document, and in tests every JSON answer is checked against the schema declared for its status.
 */

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** `{ error: { code, message, details? } }`: every 4xx and 5xx, whichever route or middleware refuses. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'validation_failed' }),
      message: z.string().meta({ example: 'Request body is invalid' }),
      details: z
        .object({ issues: z.array(z.object({ path: z.string(), message: z.string() })).optional() })
        .catchall(z.unknown())
        .optional()
        .describe('issues names each bad field by its path; other keys depend on the error (requiredScope, retryAfterSeconds, …)'),
    }),
  })
  .meta({ id: 'Error' });

export interface ResponseDoc {
  description: string;
  /** The JSON body (as it is on the wire: dates are strings). Absent for bodies that are not JSON or empty. */
  schema?: z.ZodType;
  /** Other media types (CSV, SVG, JSON lines): documented, not validated. */
  contentType?: string | string[];
  example?: unknown;
  headers?: Record<string, string>;
}

export interface RouteRequest<P extends z.ZodType | undefined, Q extends z.ZodType | undefined, B extends z.ZodType | undefined> {
  params?: P;
  query?: Q;
  body?: B;
  /** Documented request headers (e.g. Idempotency-Key); the handler reads them. */
  headers?: z.ZodObject;
  /** `handler`: the body schema documents the union the handler validates itself (with its own error paths). */
  bodyValidation?: 'table' | 'handler';
  bodyExample?: unknown;
  /** `raw`: the body's bytes (signed events are verified on them); JSON otherwise. */
  bodyParsing?: 'json' | 'raw';
  bodyLimit?: string;
}

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface RouteCall<P, Q, B> {
  req: Request;
  res: Response;
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  /** Adds fields (runId, process, step) to every log line of this request, the request log line included. */
  annotate(fields: LogContext): void;
}

export interface RouteSpec<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined> {
  method: HttpMethod;
  /** Express syntax (`/runs/:id`); the spec gets `/runs/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** `none`: no key needed. Default: an API key (bearer or X-API-Key). */
  auth?: 'none' | 'key';
  /** Checked before the handler runs. */
  scope?: string;
  /** Access the handler checks itself (it depends on the request), as documented. */
  accessNote?: string;
  request?: RouteRequest<P, Q, B>;
  /** Success (and handler-specific error) answers, by status. */
  responses: Record<number, ResponseDoc>;
  /** Error answers this route gives besides the ones the table adds (401, 403, 422, 500, …): status → when. */
  errors?: Record<number, string>;
  handler(ctx: ApiContext, call: RouteCall<P, Q, B>): Promise<unknown> | unknown;
}

export type AnyRoute = RouteSpec<any, any, any>;

/** Keeps the generics of one route (so the handler sees its parsed params, query and body) in a table of many. */
export function defineRoute<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  spec: RouteSpec<P, Q, B>,
): AnyRoute {
  return spec as AnyRoute;
}

export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

const hasBody = (route: AnyRoute) => route.method !== 'get' && route.method !== 'delete';

/**
 * Every answer a route can give: its own, plus the refusals the table's middleware and the error handler produce.
 * The OpenAPI document and the test-mode response check both read this.
 */
export function responsesOf(route: AnyRoute): Record<number, ResponseDoc> {
  const error = (description: string): ResponseDoc => ({ description, schema: errorSchema });
  const added: Record<number, ResponseDoc> = {};
  if (hasBody(route)) {
    added[400] = error('Malformed JSON in the body');
    added[413] = error('Body larger than the limit');
    added[415] = error('Unsupported body encoding');
  }
  if (route.auth !== 'none') {
    added[401] = error('No API key, or one that is not valid or was revoked');
    added[429] = error('Too many failed key checks from this client or for this key id; see Retry-After');
  }
  if (route.scope || route.accessNote) added[403] = error(`The key lacks the needed scope (${route.scope ?? route.accessNote})`);
  if (route.request?.params || route.request?.query || route.request?.body || hasBody(route)) {
    added[422] = error('Invalid parameters, query or body; details.issues names each field path');
  }
  added[500] = error('Something went wrong on our side; nothing was changed by this request');
  added[503] = error('The workflow engine or the database is unavailable; retry');
  for (const [status, description] of Object.entries(route.errors ?? {})) added[Number(status)] = error(description);
  return { ...added, ...route.responses };
}

/** Path params every route has, as strings, when it declares no schema of its own. */
export function paramsSchemaOf(route: AnyRoute): z.ZodObject | undefined {
  if (route.request?.params) return route.request.params as z.ZodObject;
  const names = pathParamNames(route.path);
  if (names.length === 0) return undefined;
  return z.object(Object.fromEntries(names.map((name) => [name, z.string()])));
}

function bodyParser(ctx: ApiContext, route: AnyRoute): RequestHandler {
  if (route.request?.bodyParsing === 'raw') return express.raw({ type: () => true, limit: route.request.bodyLimit ?? '256kb' });
  return jsonBody(route.request?.bodyLimit ?? ctx.config.API_BODY_LIMIT);
}

/**
 * In tests: an answer that does not match the schema declared for its status becomes a 500 naming the mismatch,
 * so the test that made the request fails where the spec and the code disagree.
 */
function responseValidator(ctx: ApiContext, route: AnyRoute): RequestHandler {
  const responses = responsesOf(route);
  return (_req, res, next) => {
    const send = res.json.bind(res);
    res.json = (body: unknown) => {
      const doc = responses[res.statusCode];
      const problem = !doc
        ? `status ${res.statusCode} is not declared`
        : doc.schema
          ? describeMismatch(doc.schema, body)
          : `status ${res.statusCode} declares no JSON body`;
      if (!problem) return send(body);
      ctx.logger.error({ operationId: route.operationId, status: res.statusCode, problem }, 'response does not match the spec');
      res.status(500);
      return send({ error: { code: 'internal', message: `Response of ${route.operationId} does not match its spec: ${problem}` } });
    };
    next();
  };
}

function describeMismatch(schema: z.ZodType, body: unknown): string | undefined {
  const wire: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  const parsed = schema.safeParse(wire);
  if (parsed.success) return undefined;
  return parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

function runHandler(ctx: ApiContext, route: AnyRoute): RequestHandler {
  const params = paramsSchemaOf(route);
  const { query, body } = route.request ?? {};
  const validateBody = body && route.request?.bodyValidation !== 'handler';
  return (req: Request, res: Response, next: NextFunction) =>
    inRequestLogContext(req, res, async () => {
      // Routes under /runs/:id touch a run: every line this request logs carries its id.
      if (route.path.startsWith('/runs/:id')) addLogFields({ runId: String(req.params.id) });
      const call: RouteCall<unknown, unknown, unknown> = {
        req,
        res,
        params: (params ? parseOr422(params, req.params, ['params'], 'Path parameters are invalid') : {}) as never,
        query: (query ? parseOr422(query as z.ZodType, req.query, ['query'], 'Query parameters are invalid') : {}) as never,
        body: (validateBody ? parseOr422(body as z.ZodType, req.body ?? {}) : (req.body as unknown)) as never,
        annotate: addLogFields,
      };
      await route.handler(ctx, call);
      if (!res.headersSent && !res.writableEnded) next(new AppError('internal', `${route.operationId} gave no answer`));
    });
}

/**
 * Runs a request's handler in its log context: every line it logs carries the request id, and whatever the work
 * learns with `addLogFields` (the run, process and step it touches, also from deep in a service) goes on those
 * lines and on the request's own line, which api/app.ts reads from `res.locals.logContext` when it is written.
 * Route-table routes get it from `mountRoutes`; the page and callback routers wrap their handlers in it.
 */
export function inRequestLogContext<T>(req: Request, res: Response, handler: () => T): T {
  const fields: LogContext = { requestId: String(req.id) };
  res.locals.logContext = fields;
  return withLogContext(fields, handler);
}

/** The Express routes of a table: body parser, key, scope, request validation, handler (and the test-mode check). */
export function mountRoutes(ctx: ApiContext, routes: readonly AnyRoute[]): Router {
  const router = Router();
  for (const route of routes) {
    const chain: RequestHandler[] = [];
    if (ctx.validateResponses) chain.push(responseValidator(ctx, route));
    chain.push(bodyParser(ctx, route));
    if (route.auth !== 'none') chain.push(authenticate(ctx));
    if (route.scope) chain.push(requireScope(route.scope));
    chain.push(runHandler(ctx, route));
    router[route.method](route.path, ...chain);
  }
  return router;
}
