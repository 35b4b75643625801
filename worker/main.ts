import { createServer, type Server } from 'node:http';
import type { Worker } from '@temporalio/worker';
import type { Registry } from 'prom-client';
import type { ActivityDeps } from '../activities/index.js';
import { loadConfig } from '../lib/config.js';
import { staleDeliveryRefs } from '../lib/outbound-webhooks.js';
import { createLogger } from '../lib/logger.js';
import { startTracing } from '../lib/tracing.js';
import { DIGEST_SCHEDULE_ID, ensureDigestSchedule } from '../lib/digest-schedule.js';
import { connectClient } from '../lib/temporal.js';
import { createOpsflowWorker } from './worker.js';

const logger = createLogger('worker');

/**
 * The worker's HTTP endpoint on WORKER_METRICS_HOST:WORKER_METRICS_PORT: /metrics for Prometheus and /healthz for
 * container health checks (200 while the worker polls its task queue, 503 once it is stopping or has failed).
 */
function serveWorkerEndpoint(worker: Worker, registry: Registry | undefined, host: string, port: number): Server {
  return createServer((req, res) => {
    if (req.url === '/healthz') {
      const state = worker.getState();
      return void res.writeHead(state === 'RUNNING' ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: state === 'RUNNING' ? 'ok' : 'unavailable', worker: state }));
    }
    if (req.url !== '/metrics' || !registry) return void res.writeHead(404).end();
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(`metrics unavailable: ${(error as Error).message}`),
    );
  })
    .listen(port, host)
    .on('error', (error) => logger.error({ err: error, host, port }, 'worker metrics endpoint could not listen'));
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

async function main(): Promise<void> {
  const config = loadConfig();
  // Before the worker: its workflow-span sink exports through this provider.
  const tracing = startTracing({ serviceName: config.OTEL_SERVICE_NAME ?? 'opsflow-worker', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const { worker, deps, connection, workflowSource } = await createOpsflowWorker({
    config,
    logger,
    workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH || undefined,
  });
  // worker.run() resolves after shutdown() once in-flight tasks are done; the SDK handles SIGINT/SIGTERM itself.
  const endpoint = config.WORKER_METRICS_PORT ? serveWorkerEndpoint(worker, deps.metrics?.registry, config.WORKER_METRICS_HOST, config.WORKER_METRICS_PORT) : undefined;
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, address: config.TEMPORAL_ADDRESS, workflows: workflowSource }, 'worker started');
  const sweep = sweepLostWebhookWakeUps(deps);
  if (config.APPROVER_DIGEST_SCHEDULE) {
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
  await worker.run();
  clearInterval(sweep);
  endpoint?.close();
  await connection.close();
  await deps.close();
  await tracing?.shutdown();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'worker failed');
  process.exit(1);
});
