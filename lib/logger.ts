import { pino, type Logger } from 'pino';

/** Never log tokens or secrets: these paths are redacted wherever they appear. */
const redact = [
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'secret',
  '*.secret',
];

/** JSON logs; `LOG_FORMAT=pretty` (what `npm run dev` sets) makes them readable in a terminal. */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.env.LOG_FORMAT === 'pretty';
  return pino({
    name,
    level,
    redact: { paths: redact, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'HH:MM:ss' } } } : {}),
  });
}

export type { Logger };
