import express, { type Express } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import { randomUUID } from 'node:crypto';
import { createEgressPolicy } from '../lib/egress.js';
import { redactPath } from '../lib/logger.js';
import { createApiMetrics } from '../lib/metrics.js';
import { httpServerSpans } from '../lib/tracing.js';
import { FailedKeyCheckLimiter, defaultFailureLimits, type FailureLimits } from './auth-failures.js';
import type { ApiContext } from './context.js';
import { errorHandler, notFoundHandler, retryAfterOnUnavailable } from './errors.js';
import { jsonBody } from './json-body.js';
import { InFlightLimiter } from './load-shedding.js';
import { buildOpenApiDocument } from './openapi.js';
import { approvalsRouter } from './routes/approvals.js';
import { meRouter } from './routes/me.js';
import { auditLogRouter } from './routes/audit-log.js';
import { consoleRouter } from './routes/console.js';
import { consolePoliciesRouter } from './routes/console-policies.js';
import { eventsRouter } from './routes/events.js';
import { inboundEmailRouter } from './routes/inbound-email.js';
import { peopleRouter } from './routes/people.js';
import { decisionsRouter } from './routes/decisions.js';
import { healthRouter } from './routes/health.js';
import { kpisRouter } from './routes/kpis.js';
import { policiesRouter } from './routes/policies.js';
import { processesRouter } from './routes/processes.js';
import { runsRouter } from './routes/runs.js';
import { schedulesRouter } from './routes/schedules.js';
import { webhooksRouter } from './routes/webhooks.js';

export interface AppOptions {
  /** Requests per minute per client IP on the public approval-link routes. */
  approvalRateLimitPerMinute?: number;
  /** Failed API-key checks allowed per client and per key id (bearer auth and console sign-in). */
  failedKeyCheckLimits?: FailureLimits;
}

/** Builds the Express app without listening, so tests drive it with supertest and server.ts owns the socket. */
export function createApp(apiContext: ApiContext, options: AppOptions = {}): Express {
  const ctx: ApiContext = {
    ...apiContext,
    metrics: apiContext.metrics ?? createApiMetrics(),
    egress: apiContext.egress ?? createEgressPolicy({ allowedHosts: apiContext.config.WEBHOOK_ALLOWED_HOSTS }),
    authFailures: apiContext.authFailures ?? new FailedKeyCheckLimiter(options.failedKeyCheckLimits ?? defaultFailureLimits),
    runStarts:
      apiContext.runStarts ??
      new InFlightLimiter(
        {
          concurrency: apiContext.config.RUN_START_CONCURRENCY ?? 16,
          queue: apiContext.config.RUN_START_QUEUE ?? 256,
          queueWaitMs: apiContext.config.RUN_START_QUEUE_WAIT_MS ?? 10_000,
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
  app.use(
    pinoHttp({
      logger: ctx.logger,
      genReqId: (req, res) => {
        const id = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      // No headers either way: requests carry keys and cookies, responses Set-Cookie. Approval URLs carry tokens.
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactPath(req.url) }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
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
  // Inbound events are verified on their raw bytes, so they are routed before the JSON parser.
  app.use(eventsRouter(ctx));
  app.use(inboundEmailRouter(ctx));
  app.use(jsonBody(ctx.config.API_BODY_LIMIT));

  const openApi = buildOpenApiDocument(ctx.config.PUBLIC_BASE_URL);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openApi));
  app.get('/', (_req, res) => {
    res.json({ name: 'Opsflow', docs: '/docs', openapi: '/openapi.json', processes: '/processes', runs: '/runs', health: '/healthz' });
  });

  app.use(healthRouter(ctx));
  app.use(policiesRouter(ctx));
  app.use(processesRouter(ctx));
  app.use(decisionsRouter(ctx));
  app.use(kpisRouter(ctx));
  app.use(peopleRouter(ctx));
  app.use(consoleRouter(ctx));
  app.use(consolePoliciesRouter(ctx));
  app.use(auditLogRouter(ctx));
  app.use(webhooksRouter(ctx));
  app.use(schedulesRouter(ctx));
  app.use(runsRouter(ctx));
  app.use(meRouter(ctx));
  app.use(approvalsRouter(ctx, { rateLimitPerMinute: options.approvalRateLimitPerMinute ?? 120 }));

  app.use(notFoundHandler);
  app.use(errorHandler(ctx.logger));
  return app;
}
