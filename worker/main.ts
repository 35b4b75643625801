import { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { createOpsflowWorker } from './worker.js';

const logger = createLogger('worker');

function serveMetrics(registry: Registry, port: number) {
  return createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    registry.metrics().then((body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body));
  }).listen(port, '127.0.0.1');
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
  await worker.run();
  metricsServer?.close();
  await connection.close();
  await deps.db.$disconnect();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'worker failed');
  process.exit(1);
});
