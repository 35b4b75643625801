import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { ActivityDeps } from '../activities/index.js';
import { createActivityDeps } from './worker.js';
import { loadConfig, type Config } from '../lib/config.js';
import { staleDeliveryRefs } from '../lib/outbound-webhooks.js';
import { createLogger } from '../lib/logger.js';
import { listenOnPreferredPort, listenServer } from '../dev/ports.js';
import { createOpsflowWorker } from './worker.js';

const logger = createLogger('worker');

/** The worker's /metrics on WORKER_METRICS_PORT, or on any free port (logged) when another process holds it. */
async function serveMetrics(registry: Registry, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(`metrics unavailable: ${(error as Error).message}`),
    );
  });
  const bound = await listenOnPreferredPort(port, listenServer(server));
  if (bound !== port) logger.warn({ wanted: port, port: bound }, 'WORKER_METRICS_PORT was taken; metrics on another port');
  logger.info({ url: `http://127.0.0.1:${bound}/metrics` }, 'worker metrics listening');
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

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stopping = true));

/**
 * Connects and runs the worker; when Temporal cannot be reached (at start, or the worker fails during a long
 * outage) it waits and tries again, with backoff up to 10 s, instead of exiting. A signal (SIGINT/SIGTERM, which
 * the SDK turns into a graceful shutdown) ends it.
 */
async function runUntilStopped(config: Config, deps: ActivityDeps): Promise<void> {
  let delay = RETRY_MIN_MS;
  while (!stopping) {
    let created;
    try {
      created = await createOpsflowWorker({ config, logger, deps, workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH || undefined });
    } catch (error) {
      if ((error as Error).name !== 'TemporalConnectionConfigError' || !/Could not connect/.test((error as Error).message)) throw error;
      logger.warn({ err: error, retryInMs: delay }, 'Temporal not reachable; the worker tries again');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
      continue;
    }
    delay = RETRY_MIN_MS;
    const { worker, connection } = created;
    logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, address: config.TEMPORAL_ADDRESS }, 'worker started');
    try {
      // Resolves after a signal's graceful shutdown, once in-flight tasks are done.
      await worker.run();
    } catch (error) {
      if (stopping) throw error;
      logger.error({ err: error }, 'worker stopped with an error; reconnecting');
    } finally {
      await connection.close().catch(() => {});
    }
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  // One set of dependencies (database pool, mailer, integrations) for every connection attempt.
  const deps = createActivityDeps(config, logger);
  const metricsServer = config.WORKER_METRICS_PORT && deps.metrics ? await serveMetrics(deps.metrics.registry, config.WORKER_METRICS_PORT) : undefined;
  const sweep = sweepLostWebhookWakeUps(deps);
  try {
    await runUntilStopped(config, deps);
  } finally {
    clearInterval(sweep);
    metricsServer?.close();
    await deps.close();
  }
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'worker failed');
  process.exit(1);
});
