import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { currentLogContext } from './log-context.js';

/**
 * Never log tokens or secrets: these paths are redacted wherever they appear. The HTTP request log keeps no headers
 * at all (api/app.ts serializes method, URL and status only); these paths catch the same values if a header object
 * or a body reaches a log line some other way.
 */
const redact = [
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'req.headers["webhook-signature"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'secret',
  '*.secret',
  'key',
  '*.key',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'csrfToken',
  '*.csrfToken',
];

/** A request URL or path as logs may show it: the token of an approval link is replaced. */
export function redactPath(url: string): string {
  return url.replace(/\/approvals\/[^/?#]+/, '/approvals/[token]').replace(/\/me\/sign-in\/[^/?#]+/, '/me/sign-in/[token]');
}

/** What pino-pretty leaves out of a line in dev: the request line says method, path, status and time already. */
const prettyIgnore = 'pid,hostname,req,res,responseTime';

/**
 * JSON logs (one object a line, with runId, process, step and requestId from lib/log-context.ts wherever the
 * work knows them); `LOG_FORMAT=pretty` (what `npm run dev` sets) makes each of them one readable line in a
 * terminal. `destination` replaces stdout (tests read what the real logger writes).
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream, format = process.env.LOG_FORMAT): Logger {
  const options: LoggerOptions = {
    name,
    level,
    redact: { paths: redact, censor: '[redacted]' },
    // The run, process, step and request the line belongs to, from the work in progress (a request, an activity).
    mixin: () => ({ ...currentLogContext() }),
  };
  if (format !== 'pretty') return destination ? pino(options, destination) : pino(options);
  const prettyOptions = { ignore: prettyIgnore, translateTime: 'HH:MM:ss', singleLine: true };
  if (!destination) return pino({ ...options, transport: { target: 'pino-pretty', options: prettyOptions } });
  // In-process (a test's destination): pino-pretty as a synchronous stream. It is a dev dependency, loaded only here.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream;
  return pino(options, pretty({ ...prettyOptions, destination, sync: true, colorize: false }));
}

export type { Logger };
