import type { Server } from 'node:http';
import { loadConfig } from '../lib/config.js';
import { createDb, dbPoolSettingsOf } from '../lib/db.js';
import { createLogger } from '../lib/logger.js';
import { lazyClient, whenReachable } from '../lib/temporal.js';
import { startTracing } from '../lib/tracing.js';
import { createMailer } from '../activities/email.js';
import { listenForKeyRevocations } from '../lib/api-key-revocations.js';
import { ApiKeyCache, writeUsesEveryMinute } from '../lib/api-keys.js';
import { createApp } from './app.js';
import type { InboundEmail } from './inbound-email.js';
import { startInboundSmtp, type InboundSmtp } from './inbound-smtp.js';
import { createApiMetrics } from '../lib/metrics.js';
import { startEventSweep } from './event-routing.js';
import { startRunHealthMonitor } from './run-health-monitor.js';

const logger = createLogger('api');
const LISTEN_ATTEMPTS = 10;

async function main(): Promise<void> {
  const config = loadConfig();
  const tracing = startTracing({ serviceName: config.OTEL_SERVICE_NAME ?? 'opsflow-api', endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const db = createDb(config.DATABASE_URL, dbPoolSettingsOf(config));
  // Not awaited: the API serves health, links and reads while Temporal is down, and starts runs once it is back.
  const temporal = lazyClient(config);
  const reachable = new AbortController();
  void whenReachable(temporal, 2_000, reachable.signal).then(() => !reachable.signal.aborted && logger.info({ address: config.TEMPORAL_ADDRESS }, 'temporal reachable'));
  const metrics = createApiMetrics();
  // Reply by e-mail: on with INBOUND_EMAIL_DOMAIN; its SMTP listener with INBOUND_SMTP_PORT, its webhook with a secret.
  const inboundEmail: InboundEmail | undefined = config.INBOUND_EMAIL_DOMAIN
    ? { domain: config.INBOUND_EMAIL_DOMAIN, mail: { db, mailer: createMailer(config.SMTP_URL), logger, settings: { mailFrom: config.MAIL_FROM } }, webhookSecret: config.INBOUND_EMAIL_WEBHOOK_SECRET }
    : undefined;
  const apiKeys = new ApiKeyCache({ ttlMs: config.API_KEY_CACHE_MS, listeningTtlMs: config.API_KEY_CACHE_LISTENING_MS, deferLastUsed: true });
  // Every key's lastUsedAt in one statement a minute (the resolution it keeps), not one write per key in a request.
  const keyUses = writeUsesEveryMinute(db, apiKeys);
  // A revocation made anywhere ends a key here at once while this connection listens (API_KEY_CACHE_LISTENING_MS).
  const revocations =
    config.API_KEY_CACHE_MS > 0 && config.API_KEY_CACHE_LISTENING_MS > 0
      ? listenForKeyRevocations({
          databaseUrl: config.DATABASE_URL,
          cache: apiKeys,
          logger,
          onHearing: (heard) => heard && logger.info({ listeningTtlMs: config.API_KEY_CACHE_LISTENING_MS }, 'hearing API key revocations'),
        })
      : undefined;
  const apiContext = { db, temporal, config, logger, metrics, inboundEmail, apiKeys };
  const app = createApp(apiContext);
  let inboundSmtp: InboundSmtp | undefined;
  if (inboundEmail && config.INBOUND_SMTP_PORT !== undefined) {
    inboundSmtp = await startInboundSmtp(apiContext, inboundEmail, { port: config.INBOUND_SMTP_PORT, host: config.INBOUND_SMTP_HOST });
    logger.info({ port: inboundSmtp.port, domain: inboundEmail.domain }, 'inbound smtp listening');
  }
  startEventSweep({ db, temporal, config, logger });
  startRunHealthMonitor({ db, temporal, logger, metrics }, config.RUN_HEALTH_SWEEP_MS);

  const server: Server = app.listen(config.API_PORT, config.API_HOST, () => {
    logger.info({ url: `http://${config.API_HOST}:${config.API_PORT}` }, 'api listening');
  });
  // PUBLIC_BASE_URL names this port, so another one will not do: a port still held by a process that is stopping
  // (a restart) is retried for a few seconds, then the API stops and says which port.
  let listenAttempts = 0;
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE' && ++listenAttempts < LISTEN_ATTEMPTS) {
      logger.warn({ port: config.API_PORT, attempt: listenAttempts }, 'API_PORT is in use; trying again');
      setTimeout(() => server.listen(config.API_PORT, config.API_HOST), 500);
      return;
    }
    logger.fatal({ err: error, port: config.API_PORT }, 'api could not listen');
    process.exit(1);
  });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    reachable.abort();
    logger.info({ signal }, 'api stopping');
    server.close(async () => {
      await inboundSmtp?.close();
      await revocations?.stop();
      await keyUses.stop();
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
