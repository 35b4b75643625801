import { createServer, type Server } from 'node:http';
import type { Worker } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import type { ActivityDeps } from '../activities/index.js';
import { loadConfig, type Config } from '../lib/config.js';
import { staleDeliveryRefs } from '../lib/outbound-webhooks.js';
import { createLogger } from '../lib/logger.js';
import { DIGEST_SCHEDULE_ID, ensureDigestSchedule } from '../lib/digest-schedule.js';
import { connectClient, TemporalConnectError } from '../lib/temporal.js';
import { startTracing } from '../lib/tracing.js';
import { listenOnPreferredPort, listenServer } from '../lib/listen.js';
import { createActivityDeps, createOpsflowWorker } from './worker.js';

const logger = createLogger('worker');

/**
 * The worker's HTTP endpoint on WORKER_METRICS_HOST:WORKER_METRICS_PORT (or any free port, logged, when another
 * process holds it): /metrics for Prometheus and /healthz for container health checks (200 while the worker polls
 * its task queue, 503 while it waits for Temporal, is stopping or has failed).
 */
async function serveWorkerEndpoint(currentWorker: () => Worker | undefined, registry: Registry | undefined, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      const state = currentWorker()?.getState() ?? 'CONNECTING';
      return void res.writeHead(state === 'RUNNING' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: state === 'RUNNING' ? 'ok' : 'unavailable', worker: state }));
    }
    if (req.url !== '/metrics' || !registry) return void res.writeHead(404).end();
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(`metrics unavailable: ${(error as Error).message}`),
    );
  });
  const bound = await listenOnPreferredPort(port, listenServer(server, host));
  if (bound !== port) logger.warn({ wanted: port, port: bound }, 'WORKER_METRICS_PORT was taken; the worker endpoint is on another port');
  logger.info({ url: `http://${host}:${bound}/metrics` }, 'worker endpoint listening');
  return server;
}

/**
 * A webhook delivery whose wake-up signal was lost (Temporal unreachable right after the audit entry committed)
 * is still pending in the database; this sends the wake-up again.
 */
function sweepLostWebhookWakeUps(deps: ActivityDeps): NodeJS.Timeout {
  return setInterval(() => {
    staleDeliveryRefs(deps.db, 30_000)
      .then((refs) => deps.wakeWebhookDeliveries(refs))
      .catch((error: unknown) => logger.warn({ err: error }, 'webhook sweep failed; next one in 30 s'));
  }, 30_000);
}

function ensureApproverDigest(config: Config): void {
  connectClient(config)
    .then(async (client) => {
      try {
        logger.info({ schedule: DIGEST_SCHEDULE_ID, state: await ensureDigestSchedule(client, config.TEMPORAL_TASK_QUEUE) }, 'approver digest schedule');
      } finally {
        await client.connection.close();
      }
    })
    .catch((error: unknown) => logger.warn({ err: error }, 'could not create the approver digest schedule; the next worker start tries again'));
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stopping = true));

/**
 * Connects and runs the worker; when Temporal cannot be reached (at start, or the worker fails during a long
 * outage) it waits and tries again, with backoff up to 10 s, instead of exiting. A signal (SIGINT/SIGTERM, which
 * the SDK turns into a graceful shutdown) ends it.
 */
async function runUntilStopped(config: Config, deps: ActivityDeps, onWorker: (worker: Worker | undefined) => void): Promise<void> {
  let delay = RETRY_MIN_MS;
  let first = true;
  while (!stopping) {
    let created;
    try {
      created = await createOpsflowWorker({ config, logger, deps, workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH || undefined });
    } catch (error) {
      if (!(error instanceof TemporalConnectError)) throw error;
      if (error.tlsRefusal) {
        // Not transient, but fixable without a restart: each attempt reads the certificate files again.
        logger.error(
          { address: error.address, tlsRefusal: error.tlsRefusal, retryInMs: delay },
          `Temporal at ${error.address} refused the worker's connection: ${error.tlsRefusal}. Check the TLS settings (TEMPORAL_TLS_* or the temporal.toml profile); the worker reads them again and retries`,
        );
      } else {
        logger.warn({ err: error, retryInMs: delay }, 'Temporal not reachable; the worker tries again');
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
      continue;
    }
    delay = RETRY_MIN_MS;
    const { worker, connection, workflowSource, address } = created;
    onWorker(worker);
    logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, address, workflows: workflowSource }, 'worker started');
    if (first && config.APPROVER_DIGEST_SCHEDULE) ensureApproverDigest(config);
    first = false;
    try {
      // Resolves after a signal's graceful shutdown, once in-flight tasks are done.
      await worker.run();
    } catch (error) {
      if (stopping) throw error;
      logger.error({ err: error }, 'worker stopped with an error; reconnecting');
    } finally {
      onWorker(undefined);
      await connection.close().catch(() => {});
    }
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Before the worker: its workflow-span sink exports through this provider.
  const tracing = startTracing({ serviceName: config.OTEL_SERVICE_NAME ?? 'opsflow-worker', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  // One set of dependencies (database pool, mailer, integrations) for every connection attempt.
  const deps = createActivityDeps(config, logger);
  let current: Worker | undefined;
  const endpoint = config.WORKER_METRICS_PORT ? await serveWorkerEndpoint(() => current, deps.metrics?.registry, config.WORKER_METRICS_HOST, config.WORKER_METRICS_PORT) : undefined;
  const sweep = sweepLostWebhookWakeUps(deps);
  try {
    await runUntilStopped(config, deps, (worker) => (current = worker));
  } finally {
    clearInterval(sweep);
    endpoint?.close();
    await deps.close();
    await tracing?.shutdown();
  }
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'worker failed');
  process.exit(1);
});
