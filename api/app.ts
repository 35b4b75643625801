import express, { type Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createEgressPolicy } from '../lib/egress.js';
import type { LogContext } from '../lib/log-context.js';
import { redactPath } from '../lib/logger.js';
import { createApiMetrics } from '../lib/metrics.js';
import { httpServerSpans } from '../lib/tracing.js';
import { FailedKeyCheckLimiter, defaultFailureLimits, type FailureLimits } from './auth-failures.js';
import type { ApiContext } from './context.js';
import { errorHandler, notFoundHandler, retryAfterOnUnavailable } from './errors.js';
import { jsonBody } from './json-body.js';
import { InFlightLimiter } from './load-shedding.js';
import { ApiKeyCache, DEFAULT_API_KEY_CACHE_MS } from '../lib/api-keys.js';
import { buildOpenApiDocument } from './openapi.js';
import { mountRoutes } from './route-table.js';
import { approvalsRouter } from './routes/approvals.js';
import { apiRoutes } from './routes/index.js';
import { meRouter } from './routes/me.js';
import { consoleRouter } from './routes/console.js';
import { consolePoliciesRouter } from './routes/console-policies.js';
import { slackInteractionsRouter, type SlackContext } from './routes/slack.js';
import { createSlackApi, slackSettingsOf } from '../lib/slack.js';

export interface AppOptions {
  /** Requests per minute per client IP on the public approval-link routes. */
  approvalRateLimitPerMinute?: number;
  /** Failed API-key checks allowed per client and per key id (bearer auth and console sign-in). */
  failedKeyCheckLimits?: FailureLimits;
}

/**
 * One line per request: method, path (approval tokens replaced), status, milliseconds and the request id, plus the
 * run, process and step when the route knows them (api/route-table.ts `inRequestLogContext`). Headers only with
 * LOG_HTTP_HEADERS=1, for debugging: requests carry keys and cookies, responses Set-Cookie (all redacted even then).
 */
export function requestLog(logger: ApiContext['logger'], options: { headers: boolean }) {
  // originalUrl: by the time the line is written a mounted router may have cut its prefix off req.url.
  const requestLine = (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, ms: number) => `${req.method} ${redactPath(req.originalUrl ?? req.url ?? '')} ${res.statusCode} ${ms}ms`;
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const id = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    // At the start: the request id only. At the end: what the route learnt (runId, process, step) is added; the request
    // id is bound to the line already.
    customProps: (req, res) => {
      const context = (res as ServerResponse & { locals?: { logContext?: LogContext } }).locals?.logContext;
      if (!context) return { requestId: req.id };
      const { requestId: _bound, ...learnt } = context;
      return learnt;
    },
    customSuccessMessage: (req, res, ms) => requestLine(req, res, ms),
    // pino-http passes the response time here too (its onResFinished); its types do not say so yet.
    customErrorMessage: ((req: IncomingMessage, res: ServerResponse, _error: Error, ms: number) => requestLine(req, res, ms)) as unknown as (req: IncomingMessage, res: ServerResponse, error: Error) => string,
    // A 5xx's error (and stack) is logged once, by the error handler; the request line stays one line.
    customErrorObject: (_req, _res, _error, value: Record<string, unknown>) => ({ ...value, err: undefined }),
    serializers: {
      req: (req: { id: string; method: string; url: string; headers?: Record<string, unknown> }) => ({
        id: req.id,
        method: req.method,
        url: redactPath(req.url),
        ...(options.headers ? { headers: req.headers } : {}),
      }),
      res: (res: { statusCode: number; headers?: Record<string, unknown> }) => ({ statusCode: res.statusCode, ...(options.headers ? { headers: res.headers } : {}) }),
    },
  });
}

/** Builds the Express app without listening, so tests drive it with supertest and server.ts owns the socket. */
function slackContextOf(ctx: ApiContext): SlackContext | undefined {
  const settings = slackSettingsOf({ SLACK_API_URL: 'https://slack.com/api/', ...ctx.config });
  return settings ? { api: createSlackApi(settings, ctx.logger), signingSecret: settings.signingSecret } : undefined;
}

export function createApp(apiContext: ApiContext, options: AppOptions = {}): Express {
  const ctx: ApiContext = {
    ...apiContext,
    metrics: apiContext.metrics ?? createApiMetrics(),
    egress: apiContext.egress ?? createEgressPolicy({ allowedHosts: apiContext.config.WEBHOOK_ALLOWED_HOSTS }),
    authFailures: apiContext.authFailures ?? new FailedKeyCheckLimiter(options.failedKeyCheckLimits ?? defaultFailureLimits),
    slack: apiContext.slack ?? slackContextOf(apiContext),
    apiKeys: apiContext.apiKeys ?? new ApiKeyCache({ ttlMs: apiContext.config.API_KEY_CACHE_MS ?? DEFAULT_API_KEY_CACHE_MS }),
    runStarts:
      apiContext.runStarts ??
      new InFlightLimiter(
        {
          concurrency: apiContext.config.RUN_START_CONCURRENCY ?? 16,
          queue: apiContext.config.RUN_START_QUEUE ?? 256,
          queueWaitMs: apiContext.config.RUN_START_QUEUE_WAIT_MS ?? 30_000,
        },
        'run starts',
      ),
  };
  const metrics = ctx.metrics!;
  const app = express();
  app.disable('x-powered-by');
  app.use(retryAfterOnUnavailable);
  // X-Forwarded-For decides req.ip (rate limits, the audit log): honoured only from the proxies TRUST_PROXY names.
  app.set('trust proxy', ctx.config.TRUST_PROXY ?? false);
  // First, so the whole request (Temporal calls included) runs in its trace span.
  app.use(httpServerSpans('opsflow-api'));
  app.use(requestLog(ctx.logger, { headers: process.env.LOG_HTTP_HEADERS === '1' }));
  // Plain-HTTP deployments (and localhost) must keep form posts on http: no upgrade-insecure-requests.
  app.use(
    helmet({
      referrerPolicy: { policy: 'no-referrer' },
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );
  app.use((req, res, next) => {
    const stop = metrics.httpDuration.startTimer();
    // The route template (/runs/:id), never the raw path: tokens and ids would explode the label set.
    res.on('finish', () => stop({ method: req.method, route: req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched', status: res.statusCode }));
    next();
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // Slack signs the raw form body of its interactions: before the JSON parser.
  app.use(slackInteractionsRouter(ctx));
  // The JSON API, from its route table (each route parses its own body: signed events keep their raw bytes).
  app.use(mountRoutes({ ...ctx, validateResponses: apiContext.validateResponses ?? process.env.NODE_ENV === 'test' }, apiRoutes));
  // The pages' forms and anything else below.
  app.use(jsonBody(ctx.config.API_BODY_LIMIT));

  const openApi = buildOpenApiDocument(ctx.config.PUBLIC_BASE_URL);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openApi));
  app.get('/', (_req, res) => {
    res.json({ name: 'Opsflow', docs: '/docs', openapi: '/openapi.json', processes: '/processes', runs: '/runs', health: '/healthz' });
  });

  app.use(consoleRouter(ctx));
  app.use(consolePoliciesRouter(ctx));
  app.use(meRouter(ctx));
  app.use(approvalsRouter(ctx, { rateLimitPerMinute: options.approvalRateLimitPerMinute ?? 120 }));

  app.use(notFoundHandler);
  app.use(errorHandler(ctx.logger));
  return app;
}
