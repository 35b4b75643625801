import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { durationMs } from '../processes/duration.js';
import { parseAllowedHosts } from './egress.js';
import { productionSecretProblem } from './published-secrets.js';

/**
 * Every setting Opsflow reads from the environment, parsed once. A missing or malformed variable fails at
 * start with its name, not later with a confusing error.
 */
const port = z.coerce.number().int().min(0).max(65535);

/** A yes/no setting: true or 1, false or 0; unset or empty is the default. */
const envFlag = (byDefault: boolean) =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .default(byDefault ? 'true' : 'false')
    .transform((value) => (value === '' ? byDefault : value === 'true' || value === '1'));

/** EVENT_HOLD_WINDOW when unset: a week covers an invoice that arrives days after its goods. */
export const DEFAULT_EVENT_HOLD_WINDOW = '7d';

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
  // Reliability (README): sized for the API's run-start concurrency below plus its reads; a query or transaction
  // that cannot get a connection in time fails, and the API answers 503 with Retry-After instead of hanging.
  /** Connections each API or worker process may hold. */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(500).default(20),
  /** How long a query waits for a free connection. */
  DATABASE_POOL_WAIT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /**
   * How long a connection may sit idle in the pool before it is closed. pg's own default (10 s) closed connections
   * between bursts: each new one costs PostgreSQL a backend start (two commits of its own) and prepares every
   * statement again. Five minutes, as Prisma's own engine kept them.
   */
  DATABASE_POOL_IDLE_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(300_000),
  /** How long an interactive transaction waits to start (Prisma maxWait). */
  DATABASE_TX_MAX_WAIT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** How long an interactive transaction may take before it is rolled back (Prisma timeout). */
  DATABASE_TX_TIMEOUT_MS: z.coerce.number().int().min(500).max(120_000).default(10_000),
  /**
   * Statements prepared once per connection and executed by name after that (PostgreSQL parses and plans each text
   * once per connection, not on every execution). Off behind a pooler in transaction mode that does not track
   * prepared statements (PgBouncer before 1.21, or without max_prepared_statements).
   */
  DATABASE_PREPARED_STATEMENTS: envFlag(true),
  /** Run starts (POST /runs) one API process works on at once; more wait in a queue. */
  RUN_START_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  /** Run starts that may wait for a slot; beyond that the API answers 503 with Retry-After at once. */
  RUN_START_QUEUE: z.coerce.number().int().min(0).max(10_000).default(256),
  /** How long a queued run start waits for a slot before it is answered 503 with Retry-After. */
  RUN_START_QUEUE_WAIT_MS: z.coerce.number().int().min(100).max(120_000).default(30_000),

  /**
   * How long the API believes a verified API key before reading its row again (0: every request reads it). A key
   * revoked through DELETE /keys/:id stops working at once on the API process that revoked it; one revoked
   * elsewhere (another API process, `npm run apikey revoke`) is refused at most this long after.
   */
  API_KEY_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /**
   * How long a verified key is believed while the API process hears revocations from PostgreSQL (LISTEN on its own
   * connection; a revocation anywhere is announced with NOTIFY in its commit and ends the key here at once). While
   * the connection is down, API_KEY_CACHE_MS applies again. 0: do not listen (e.g. behind a pooler in transaction mode,
   * where LISTEN does not work).
   */
  API_KEY_CACHE_LISTENING_MS: z.coerce.number().int().min(0).max(3_600_000).default(300_000),

  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('opsflow'),

  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: port.default(4000),
  /** Base of every link in e-mails; what an approver's browser can reach. */
  PUBLIC_BASE_URL: z.url().default('http://localhost:4000'),
  /** Largest JSON body the API accepts. */
  API_BODY_LIMIT: z.string().default('100kb'),

  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').default('smtp://127.0.0.1:1025'),
  MAIL_FROM: z.string().min(3).default('Opsflow <opsflow@localhost>'),
  /**
   * Reply by e-mail (README, Approvals): approval mails carry Reply-To `approvals+<token>.<version>@` this domain,
   * whose MX reaches INBOUND_SMTP_PORT or a provider that posts the raw mail to POST /inbound/email. Unset = off.
   */
  INBOUND_EMAIL_DOMAIN: z
    .string()
    .regex(/^[a-z0-9.-]+\.[a-z]{2,}$|^localhost$/i, 'a mail domain such as approvals.example.com')
    .optional(),
  /** The API process's SMTP listener for those replies; unset = no listener. */
  INBOUND_SMTP_PORT: port.optional(),
  INBOUND_SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  /** Standard Webhooks secret of POST /inbound/email (a provider's inbound webhook); unset = the route refuses all. */
  INBOUND_EMAIL_WEBHOOK_SECRET: z.string().min(1).optional(),

  /** A one-key ring for TOKEN_SECRETS (older deployments set only this). */
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),

  ERP_BASE_URL: z.url().default('http://127.0.0.1:4100/erp'),
  ERP_API_KEY: z.string().min(1).default('dev-erp-key'),
  ERP_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),

  // The other systems processes call; each an HTTP API with a bearer key (the simulators by default).
  HRIS_BASE_URL: z.url().default('http://127.0.0.1:4100/hris'),
  HRIS_API_KEY: z.string().min(1).default('dev-hris-key'),
  ATS_BASE_URL: z.url().default('http://127.0.0.1:4100/ats'),
  ATS_API_KEY: z.string().min(1).default('dev-ats-key'),
  SCREENING_BASE_URL: z.url().default('http://127.0.0.1:4100/screening'),
  SCREENING_API_KEY: z.string().min(1).default('dev-screening-key'),
  ESIGN_BASE_URL: z.url().default('http://127.0.0.1:4100/esign'),
  ESIGN_API_KEY: z.string().min(1).default('dev-esign-key'),
  IT_BASE_URL: z.url().default('http://127.0.0.1:4100/it'),
  IT_API_KEY: z.string().min(1).default('dev-it-key'),
  /** Per-request timeout for HRIS, ATS, screening, e-signature and IT calls. */
  INTEGRATION_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),

  /** Inbound event sources and their Standard Webhooks secrets: `ats=whsec_...,erp=whsec_...`. */
  EVENT_SOURCE_SECRETS: z
    .string()
    .default('')
    .transform((value, context) => {
      // A Map: a source named `constructor` or `__proto__` must find nothing, not Object.prototype's members.
      const sources = new Map<string, string>();
      for (const [index, pair] of value.split(',').map((p) => p.trim()).filter(Boolean).entries()) {
        const at = pair.indexOf('=');
        const [name, secret] = at > 0 ? [pair.slice(0, at), pair.slice(at + 1)] : [pair, undefined];
        if (!/^[a-z0-9-]+$/.test(name) || !secret) {
          // The entry itself is not repeated: it may hold a secret, and config errors are logged.
          context.addIssue({ code: 'custom', message: `entry ${index + 1} is not source=secret` });
          return z.NEVER;
        }
        sources.set(name, secret);
      }
      return sources;
    }),

  /** The worker's own HTTP endpoint: /metrics (activity failures, e-mails, runs closed) and /healthz; unset = off. */
  WORKER_METRICS_PORT: port.optional(),
  /** Where that endpoint and the SDK's listen: loopback by default; 0.0.0.0 in the image, so Prometheus and health checks reach them. */
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Traces: OTLP over HTTP to this collector (e.g. http://otel-collector:4318); unset or empty = off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.union([z.literal(''), z.url()]).optional().transform((value) => value || undefined),
  /** The service name traces carry; by default opsflow-api / opsflow-worker. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /**
   * Runs a worker keeps in memory between their workflow tasks (each 0.6 to 1.3 MB of worker RSS, README,
   * Performance). A run evicted from the cache costs nothing until its next task replays it: with the default, 2,000
   * open runs held the worker at 895 MB, and more open runs add nothing to that.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(2).default(1000),
  /** The Temporal SDK's Prometheus exporter in the worker; unset = off. */
  TEMPORAL_SDK_METRICS_PORT: port.optional(),

  // Security settings (README, Security).
  /**
   * Approval-link keys, newest first: `TOKEN_SECRETS=new,old`. New links are minted with the first; a reminder
   * re-sends a link with the key that minted it while that key is still listed. TOKEN_SECRET is a one-key ring.
   */
  TOKEN_SECRETS: z
    .string()
    .optional()
    .transform((value, context) => {
      if (value === undefined || value.trim() === '') return undefined;
      const keys = value.split(',').map((k) => k.trim());
      keys.forEach((key, index) => {
        if (key.length < 32) context.addIssue({ code: 'custom', message: `key ${index + 1} of ${keys.length} must be at least 32 characters` });
      });
      return keys;
    }),
  /** Hosts (any port) or host:port pairs webhooks may reach although they are not public, e.g. `127.0.0.1:9000`. */
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((value, context) => {
      try {
        return parseAllowedHosts(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /**
   * Which peers may set X-Forwarded-For (client IP for rate limits and the audit log): unset trusts nobody; a hop
   * count, or addresses, CIDRs and `loopback`, `linklocal`, `uniquelocal`, comma-separated.
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value, context): false | number | string[] => {
      const trimmed = value.trim();
      if (trimmed === '' || trimmed === 'false') return false;
      if (/^\d+$/.test(trimmed)) return Number(trimmed);
      const entries = trimmed.split(',').map((e) => e.trim()).filter(Boolean);
      for (const entry of entries) {
        const known = ['loopback', 'linklocal', 'uniquelocal'].includes(entry) || ipaddr.isValid(entry) || ipaddr.isValidCIDR(entry);
        if (!known) {
          context.addIssue({ code: 'custom', message: `"${entry}" is not an address, CIDR, hop count or loopback/linklocal/uniquelocal (trusting every peer is not offered)` });
          return z.NEVER;
        }
      }
      return entries;
    }),

  /**
   * How long an event a process consumes waits for its run to start (e.g. a goods receipt sent before its invoice)
   * before it is recorded as unmatched: `90s`, `12h`, `7d`; between 1 s and 90 d.
   */
  EVENT_HOLD_WINDOW: z
    .string()
    .default(DEFAULT_EVENT_HOLD_WINDOW)
    .refine((value) => /^\d+(ms|s|m|h|d)$/.test(value), 'must be a duration such as 90s, 12h or 7d')
    .transform((value) => durationMs(value))
    .refine((ms) => ms >= 1000 && ms <= 90 * 86_400_000, 'must be between 1s and 90d'),

  /** How often the API looks for stuck runs (workflow tasks that keep failing). */
  RUN_HEALTH_SWEEP_MS: z.coerce.number().int().min(1000).default(30_000),

  /**
   * Lets policies and per-run settings use reminders and SLAs of seconds (tests, demos). Production refuses it:
   * there, reminders and SLAs are at least an hour, so nobody can flood an approver or race a deadline.
   */
  OPSFLOW_ALLOW_SHORT_DURATIONS: envFlag(false),

  // Slack (README, Approvals: Slack): on when the bot token and the signing secret are both set.
  /** The bot's token (xoxb-…): posts and updates approval messages, opens the reason modal, looks people up by e-mail. */
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  /** Verifies that an interaction (a button click, a modal submission) really comes from Slack. */
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  /** The Web API's base URL; the simulator's in development and tests. */
  SLACK_API_URL: z.url().default('https://slack.com/api/'),

  /** Whether the worker makes sure the hourly Schedule of the approvers' daily digest exists (lib/digest-schedule.ts). */
  APPROVER_DIGEST_SCHEDULE: envFlag(true),
}).superRefine((config, ctx) => {
  if (config.DATABASE_POOL_MAX < config.RUN_START_CONCURRENCY) {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_POOL_MAX'], message: `must be at least RUN_START_CONCURRENCY (${config.RUN_START_CONCURRENCY}): each run start holds a connection in its transaction` });
  }
  if (Boolean(config.SLACK_BOT_TOKEN) !== Boolean(config.SLACK_SIGNING_SECRET)) {
    const missing = config.SLACK_BOT_TOKEN ? 'SLACK_SIGNING_SECRET' : 'SLACK_BOT_TOKEN';
    ctx.addIssue({ code: 'custom', path: [missing], message: 'is required when the other Slack setting is set (both or neither)' });
  }
  if (config.NODE_ENV === 'production' && config.OPSFLOW_ALLOW_SHORT_DURATIONS) {
    ctx.addIssue({ code: 'custom', path: ['OPSFLOW_ALLOW_SHORT_DURATIONS'], message: 'is not allowed when NODE_ENV=production (reminders and SLAs must be at least 1h)' });
  }
});

/** The parsed settings; TOKEN_SECRETS is always the full key ring (from TOKEN_SECRETS or TOKEN_SECRET). */
export type Config = Omit<z.infer<typeof configSchema>, 'TOKEN_SECRETS'> & { TOKEN_SECRETS: string[] };

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const ring = parsed.data.TOKEN_SECRETS ?? (parsed.data.TOKEN_SECRET ? [parsed.data.TOKEN_SECRET] : undefined);
  if (!ring) throw new ConfigError(['TOKEN_SECRETS: required: one or more keys of 32+ characters, newest first (TOKEN_SECRET is accepted as one key)']);
  const config: Config = { ...parsed.data, TOKEN_SECRETS: ring };
  if (config.NODE_ENV === 'production') {
    const problems = productionSecretProblems(config, env);
    if (problems.length > 0) throw new ConfigError(problems);
  }
  return config;
}

/** The integration keys in config: secrets too, so published or short ones are refused in production. */
const integrationKeyVariables = ['ERP_API_KEY', 'HRIS_API_KEY', 'ATS_API_KEY', 'SCREENING_API_KEY', 'ESIGN_API_KEY', 'IT_API_KEY'] as const;

/**
 * Every secret in config that a production process must not run with: a value published in this repository or one
 * shorter than 32 bytes. Each problem names its variable (and which key of a list), never the value.
 */
export function productionSecretProblems(config: Config, env: NodeJS.ProcessEnv = {}): string[] {
  const problems: string[] = [];
  const check = (variable: string, value: string) => {
    const problem = productionSecretProblem(value);
    if (problem) problems.push(`${variable}: ${problem}`);
  };
  const ringVariable = env.TOKEN_SECRETS?.trim() ? 'TOKEN_SECRETS' : 'TOKEN_SECRET';
  config.TOKEN_SECRETS.forEach((key, index) => check(config.TOKEN_SECRETS.length > 1 ? `${ringVariable} (key ${index + 1})` : ringVariable, key));
  for (const [source, secret] of config.EVENT_SOURCE_SECRETS) check(`EVENT_SOURCE_SECRETS (source ${source})`, secret);
  if (config.INBOUND_EMAIL_WEBHOOK_SECRET) check('INBOUND_EMAIL_WEBHOOK_SECRET', config.INBOUND_EMAIL_WEBHOOK_SECRET);
  for (const variable of integrationKeyVariables) check(variable, config[variable]);
  if (config.SLACK_SIGNING_SECRET) check('SLACK_SIGNING_SECRET', config.SLACK_SIGNING_SECRET);
  return problems;
}
