import { pino, type DestinationStream, type Logger } from 'pino';

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

/**
 * JSON logs; `LOG_FORMAT=pretty` (what `npm run dev` sets) makes them readable in a terminal. `destination`
 * replaces stdout (tests read what the real logger writes).
 */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const pretty = process.env.LOG_FORMAT === 'pretty' && !destination;
  const options = {
    name,
    level,
    redact: { paths: redact, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'HH:MM:ss' } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
