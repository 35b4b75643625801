import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import type { ActivityDeps } from '../activities/index.js';
import { loadConfig } from '../lib/config.js';
import { staleDeliveryRefs } from '../lib/outbound-webhooks.js';
import { createLogger } from '../lib/logger.js';
import { DIGEST_SCHEDULE_ID, ensureDigestSchedule } from '../lib/digest-schedule.js';
import { connectClient } from '../lib/temporal.js';
import { createOpsflowWorker } from './worker.js';

const logger = createLogger('worker');

function serveMetrics(registry: Registry, port: number) {
  return createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: unknown) => res.writeHead(500).end(`metrics unavailable: ${(error as Error).message}`),
    );
  }).listen(port, '127.0.0.1');
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
  const { worker, deps, connection } = await createOpsflowWorker({
    config,
    logger,
    workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH || undefined,
  });
  // worker.run() resolves after shutdown() once in-flight tasks are done; the SDK handles SIGINT/SIGTERM itself.
  const metricsServer = config.WORKER_METRICS_PORT && deps.metrics ? serveMetrics(deps.metrics.registry, config.WORKER_METRICS_PORT) : undefined;
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, address: config.TEMPORAL_ADDRESS }, 'worker started');
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
  metricsServer?.close();
  await connection.close();
  await deps.close();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'worker failed');
  process.exit(1);
});
