import pg from 'pg';
import { API_KEY_REVOKED_CHANNEL, type ApiKeyCache } from './api-keys.js';
import type { Logger } from './logger.js';

/** What PostgreSQL shows for the listening connection (pg_stat_activity.application_name). */
export const REVOCATION_LISTENER_NAME = 'opsflow-api-key-revocations';

export interface RevocationListener {
  /** Resolves once revocations are heard (the first LISTEN answered); tests and startup logs wait on it. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Hears key revocations made anywhere (another API process, `npm run apikey revoke`: `revokeApiKey` announces each
 * with NOTIFY in its commit) on a connection of its own, and makes the cache forget the key at once. While the
 * connection is up the cache believes a key for its listening TTL; when it drops, the cache goes back to its short TTL
 * at once (a revocation made meanwhile is not heard) and the connection is made again, with a growing pause between
 * attempts; once it listens again, everything cached before is forgotten, since it may have missed a revocation.
 */
export function listenForKeyRevocations(options: {
  databaseUrl: string;
  cache: ApiKeyCache;
  logger: Logger;
  retryMs?: { first: number; max: number };
  /** What PostgreSQL shows for its connection; REVOCATION_LISTENER_NAME unless told otherwise. */
  applicationName?: string;
  /** Told each time revocations start (`true`) or stop (`false`) being heard. */
  onHearing?: (heard: boolean) => void;
}): RevocationListener {
  const { cache, logger } = options;
  const hearing = (heard: boolean) => {
    cache.hearing(heard);
    options.onHearing?.(heard);
  };
  const retry = options.retryMs ?? { first: 500, max: 30_000 };
  let client: pg.Client | undefined;
  let stopped = false;
  let pause = retry.first;
  let timer: NodeJS.Timeout | undefined;
  let heardOnce: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (heardOnce = resolve));

  const lost = (current: pg.Client, error?: Error) => {
    if (client !== current) return;
    client = undefined;
    hearing(false);
    current.end().catch(() => undefined);
    if (stopped) return;
    logger.warn({ err: error, retryInMs: pause }, 'not hearing API key revocations; keys are read again every API_KEY_CACHE_MS until it is back');
    timer = setTimeout(connect, pause);
    timer.unref();
    pause = Math.min(pause * 2, retry.max);
  };

  async function connect(): Promise<void> {
    const current = new pg.Client({ connectionString: options.databaseUrl, application_name: options.applicationName ?? REVOCATION_LISTENER_NAME, keepAlive: true });
    client = current;
    current.on('notification', (message) => {
      if (message.channel === API_KEY_REVOKED_CHANNEL && message.payload) cache.forget(message.payload);
    });
    current.on('error', (error) => lost(current, error));
    current.on('end', () => lost(current));
    try {
      await current.connect();
      await current.query(`LISTEN ${API_KEY_REVOKED_CHANNEL}`);
    } catch (error) {
      return lost(current, error as Error);
    }
    // Stopped (or lost) while it connected: this connection is nobody's any more.
    if (client !== current) return void current.end().catch(() => undefined);
    hearing(true);
    pause = retry.first;
    heardOnce();
  }

  void connect();
  return {
    ready,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const current = client;
      client = undefined;
      cache.hearing(false);
      await current?.end().catch(() => undefined);
    },
  };
}
