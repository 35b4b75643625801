import { loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/logger.js';
import { createOpsflowWorker } from './worker.js';

const logger = createLogger('worker');

async function main(): Promise<void> {
  const config = loadConfig();
  const { worker, deps, connection } = await createOpsflowWorker({
    config,
    logger,
    workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH || undefined,
  });
  // worker.run() resolves after shutdown() once in-flight tasks are done; the SDK handles SIGINT/SIGTERM itself.
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, address: config.TEMPORAL_ADDRESS }, 'worker started');
  await worker.run();
  await connection.close();
  await deps.db.$disconnect();
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'worker failed');
  process.exit(1);
});
