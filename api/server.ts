import type { Server } from 'node:http';
import { loadConfig } from '../lib/config.js';
import { createDb } from '../lib/db.js';
import { createLogger } from '../lib/logger.js';
import { connectClient } from '../lib/temporal.js';
import { startTracing } from '../lib/tracing.js';
import { createApp } from './app.js';
import { createApiMetrics } from '../lib/metrics.js';
import { startEventSweep } from './event-routing.js';
import { startRunHealthMonitor } from './run-health-monitor.js';

const logger = createLogger('api');

async function main(): Promise<void> {
  const config = loadConfig();
  const tracing = startTracing({ serviceName: config.OTEL_SERVICE_NAME ?? 'opsflow-api', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const db = createDb(config.DATABASE_URL);
  const temporal = await connectClient(config);
  const metrics = createApiMetrics();
  const app = createApp({ db, temporal, config, logger, metrics });
  startEventSweep({ db, temporal, config, logger });
  startRunHealthMonitor({ db, temporal, logger, metrics }, config.RUN_HEALTH_SWEEP_MS);

  const server: Server = app.listen(config.API_PORT, config.API_HOST, () => {
    logger.info({ url: `http://${config.API_HOST}:${config.API_PORT}` }, 'api listening');
  });
  server.on('error', (error) => {
    logger.fatal({ err: error }, 'api could not listen');
    process.exit(1);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'api stopping');
    server.close(async () => {
      await temporal.connection.close();
      await db.$disconnect();
      await tracing?.shutdown();
      process.exit(0);
    });
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'api failed to start');
  process.exit(1);
});
