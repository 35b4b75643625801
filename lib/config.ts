import { z } from 'zod';

/**
 * Every setting Opsflow reads from the environment, parsed once. A missing or malformed variable fails at
 * start with its name, not later with a confusing error.
 */
const port = z.coerce.number().int().min(0).max(65535);

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),

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

  /** Mints approval tokens (HMAC of the request id): links survive activity retries without storing tokens. */
  TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters'),

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
      const sources: Record<string, string> = {};
      for (const pair of value.split(',').map((p) => p.trim()).filter(Boolean)) {
        const at = pair.indexOf('=');
        const [name, secret] = at > 0 ? [pair.slice(0, at), pair.slice(at + 1)] : [pair, undefined];
        if (!/^[a-z0-9-]+$/.test(name) || !secret) {
          context.addIssue({ code: 'custom', message: `"${pair}" is not source=secret` });
          return z.NEVER;
        }
        sources[name] = secret;
      }
      return sources;
    }),

  /** The worker's own Prometheus endpoint (activity failures, e-mails, runs closed); unset = off. */
  WORKER_METRICS_PORT: port.optional(),
  /** The Temporal SDK's Prometheus exporter in the worker; unset = off. */
  TEMPORAL_SDK_METRICS_PORT: port.optional(),

  /**
   * Lets policies and per-run settings use reminders and SLAs of seconds (tests, demos). Production refuses it:
   * there, reminders and SLAs are at least an hour, so nobody can flood an approver or race a deadline.
   */
  /** How often the API looks for stuck runs (workflow tasks that keep failing). */
  RUN_HEALTH_SWEEP_MS: z.coerce.number().int().min(1000).default(30_000),

  OPSFLOW_ALLOW_SHORT_DURATIONS: z
    .enum(['true', 'false', '1', '0', ''])
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
}).superRefine((config, ctx) => {
  if (config.NODE_ENV === 'production' && config.OPSFLOW_ALLOW_SHORT_DURATIONS) {
    ctx.addIssue({ code: 'custom', path: ['OPSFLOW_ALLOW_SHORT_DURATIONS'], message: 'is not allowed when NODE_ENV=production (reminders and SLAs must be at least 1h)' });
  }
});

export type Config = z.infer<typeof configSchema>;

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
  return parsed.data;
}
