import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker, type ActivityInterceptorsFactory, type LogLevel } from '@temporalio/worker';
import { createActivities, type Activities, type ActivityDeps } from '../activities/index.js';
import { createMailer } from '../activities/email.js';
import { HttpAts } from '../activities/ats.js';
import { HttpErp } from '../activities/erp.js';
import { HttpESignature } from '../activities/esign.js';
import { HttpHris } from '../activities/hris.js';
import { HttpSystem } from '../activities/http-system.js';
import { HttpItProvisioning } from '../activities/it.js';
import { HttpScreening } from '../activities/screening.js';
import type { Config } from '../lib/config.js';
import { createDb, dbPoolSettingsOf } from '../lib/db.js';
import { createSlackApi, slackSettingsOf } from '../lib/slack.js';
import { createEgressPolicy, type LookupFunction } from '../lib/egress.js';
import { withLogContext } from '../lib/log-context.js';
import type { Logger } from '../lib/logger.js';
import { processKeyOfWorkflowType } from '../processes/index.js';
import { createWorkerMetrics, type WorkerMetrics } from '../lib/metrics.js';
import { wakeDeliveryWorkflows } from '../lib/outbound-webhooks.js';
import { connectClient, connectFailure, connectionOptionsOf, temporalConnectionSettings } from '../lib/temporal.js';
import { activityTracingInterceptor, workflowTracingModules, workflowTracingSinks } from '../lib/tracing.js';

/**
 * Run as compiled JavaScript (`npm run build`: dist/worker/worker.js, what the image runs) or as TypeScript through
 * tsx (dev and tests, worker/worker.ts). Paths to the workflows and the prebuilt bundle differ between the two.
 */
const compiled = import.meta.url.endsWith('.js');
export const workflowsPath = fileURLToPath(new URL(compiled ? '../workflows/index.js' : '../workflows/index.ts', import.meta.url));
/** Written by `npm run build` beside the compiled code (dist/workflow-bundle.js); workers load it instead of bundling at start. */
export const prebuiltBundlePath = fileURLToPath(new URL(compiled ? '../workflow-bundle.js' : '../dist/workflow-bundle.js', import.meta.url));

let runtimeInstalled = false;

/** Routes the SDK's own logs (worker, activity and workflow loggers) into pino. Once per process. */
export function installRuntimeLogger(logger: Logger, sdkMetricsPort?: number, sdkMetricsHost = '127.0.0.1'): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLevels: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error'];
  const level = (sdkLevels.includes(logger.level) ? logger.level.toUpperCase() : 'INFO') as LogLevel;
  const logTo = new DefaultLogger(level, ({ level: entryLevel, message, meta }) => {
    const method = entryLevel.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    logger[method]({ ...runFieldsOf(meta), source: 'temporal' }, message);
  });
  // Named per Prometheus conventions: counters end in _total, durations in seconds with the unit in the name.
  const metrics = (port: number) => ({
    telemetryOptions: { metrics: { prometheus: { bindAddress: `${sdkMetricsHost}:${port}`, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } } },
  });
  try {
    Runtime.install({ ...(sdkMetricsPort ? metrics(sdkMetricsPort) : {}), logger: logTo });
  } catch (error) {
    // The port is taken (another process got it first): the SDK's metrics go elsewhere rather than the worker down.
    if (!sdkMetricsPort) throw error;
    logger.warn({ err: error, wanted: sdkMetricsPort }, 'TEMPORAL_SDK_METRICS_PORT could not be bound; Temporal SDK metrics on a free port instead');
    Runtime.install({ ...metrics(0), logger: logTo });
  }
}

/**
 * The SDK's workflow and activity log lines name the workflow (`workflowId`, `workflowType`, and Temporal's own
 * `runId` for the execution): as Opsflow fields, the run id is the workflow id and the process follows from the type.
 */
export function runFieldsOf(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!meta || typeof meta.workflowId !== 'string') return meta ?? {};
  const { runId: temporalRunId, workflowRunId, ...rest } = meta;
  return { ...rest, runId: meta.workflowId, process: processKeyOfWorkflowType(meta.workflowType as string | undefined), temporalRunId: temporalRunId ?? workflowRunId };
}

/**
 * Every activity runs with its run's fields on each line it logs (lib/log-context.ts): runId (the workflow id),
 * process, step (when the activity's input names one) and activity. Its end is logged at debug.
 */
export function activityLoggingInterceptor(logger: Logger): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const { workflowExecution, workflowType, activityType, attempt } = ctx.info;
        const arg = input.args[0] as { stepId?: unknown; step?: unknown } | undefined;
        const step = typeof arg?.stepId === 'string' ? arg.stepId : typeof arg?.step === 'string' ? arg.step : undefined;
        // Standalone activities have no workflow; Opsflow's always run in one.
        const fields = { runId: workflowExecution?.workflowId, process: processKeyOfWorkflowType(workflowType), ...(step ? { step } : {}), activity: activityType };
        return withLogContext(fields, async () => {
          const started = Date.now();
          try {
            const result: unknown = await next(input);
            logger.debug({ attempt, durationMs: Date.now() - started }, 'activity completed');
            return result;
          } catch (error) {
            // The failure's type only: messages can name URLs and addresses; the SDK logs the failure itself.
            const failure = error instanceof ApplicationFailure ? (error.type ?? 'ApplicationFailure') : (error as Error).name;
            logger.info({ attempt, durationMs: Date.now() - started, failure }, 'activity failed');
            throw error;
          }
        });
      },
    },
  });
}

/** Counts every activity attempt and each failure by its ApplicationFailure type. */
function activityMetricsInterceptor(metrics: WorkerMetrics): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const activity = ctx.info.activityType;
        try {
          const result = await next(input);
          metrics.activities.inc({ activity, result: 'completed' });
          return result;
        } catch (error) {
          const type = error instanceof ApplicationFailure ? (error.type ?? 'ApplicationFailure') : (error as Error).name;
          metrics.activities.inc({ activity, result: 'failed' });
          metrics.activityFailures.inc({ activity, type });
          throw error;
        }
      },
    },
  });
}

/** A client connection opened on first use: only activities that queue webhook deliveries need one. */
function lazyTemporalClient(config: Config, env?: NodeJS.ProcessEnv) {
  let client: Promise<Client> | undefined;
  return {
    get: () => (client ??= connectClient(config, env)),
    close: async () => {
      if (client) await (await client).connection.close();
    },
  };
}

/** One HTTP adapter per external system, each configured by its own *_BASE_URL and *_API_KEY. */
export function createIntegrations(config: Config) {
  const system = (name: string, baseUrl: string, apiKey: string, timeoutMs = config.INTEGRATION_TIMEOUT_MS) => new HttpSystem(name, { baseUrl, apiKey, timeoutMs });
  return {
    erp: new HttpErp(system('Erp', config.ERP_BASE_URL, config.ERP_API_KEY, config.ERP_TIMEOUT_MS)),
    hris: new HttpHris(system('Hris', config.HRIS_BASE_URL, config.HRIS_API_KEY)),
    ats: new HttpAts(system('Ats', config.ATS_BASE_URL, config.ATS_API_KEY)),
    screening: new HttpScreening(system('Screening', config.SCREENING_BASE_URL, config.SCREENING_API_KEY)),
    esign: new HttpESignature(system('ESignature', config.ESIGN_BASE_URL, config.ESIGN_API_KEY)),
    it: new HttpItProvisioning(system('ItProvisioning', config.IT_BASE_URL, config.IT_API_KEY)),
  };
}

function slackOf(config: Config, logger: Logger) {
  const settings = slackSettingsOf(config);
  return settings ? createSlackApi(settings, logger) : undefined;
}

export function createActivityDeps(config: Config, logger: Logger, options: { egressLookup?: LookupFunction; temporalEnv?: NodeJS.ProcessEnv } = {}): ActivityDeps {
  const temporal = lazyTemporalClient(config, options.temporalEnv);
  const db = createDb(config.DATABASE_URL, dbPoolSettingsOf(config));
  const mailer = createMailer(config.SMTP_URL);
  return {
    metrics: createWorkerMetrics(),
    db,
    mailer,
    ...createIntegrations(config),
    slack: slackOf(config, logger),
    logger,
    settings: { publicBaseUrl: config.PUBLIC_BASE_URL, mailFrom: config.MAIL_FROM, tokenSecrets: config.TOKEN_SECRETS, allowShortDurations: config.OPSFLOW_ALLOW_SHORT_DURATIONS, inboundEmailDomain: config.INBOUND_EMAIL_DOMAIN },
    egress: createEgressPolicy({ allowedHosts: config.WEBHOOK_ALLOWED_HOSTS, lookup: options.egressLookup }),
    async wakeWebhookDeliveries(refs) {
      if (refs.length > 0) await wakeDeliveryWorkflows(await temporal.get(), config.TEMPORAL_TASK_QUEUE, refs);
    },
    async close() {
      await temporal.close();
      await db.$disconnect();
      mailer.close();
    },
  };
}

/**
 * Production trusts only dist/ (`npm run build`; without it the worker bundles at start). Elsewhere the bundle of
 * the current sources is built once and reused by their hash (worker/build-bundle.ts): a restart skips webpack, and
 * a stale bundle cannot run.
 */
async function defaultBundlePath(config: Config): Promise<string | undefined> {
  // Compiled code trusts the bundle built with it; from sources only production does (in development a stale
  // dist/ would silently run old workflow code, so the sources' own cached bundle is used instead).
  if (compiled || config.NODE_ENV === 'production') return existsSync(prebuiltBundlePath) ? prebuiltBundlePath : undefined;
  const { cachedWorkflowBundle } = await import('./build-bundle.js');
  return cachedWorkflowBundle();
}

export interface OpsflowWorkerOptions {
  config: Config;
  logger: Logger;
  deps?: ActivityDeps;
  /** A bundle built ahead of time (tests build one per run; production uses dist/workflow-bundle.js). */
  workflowBundlePath?: string;
  taskQueue?: string;
  /** Tests wrap an activity (e.g. to hold it until a deadline has passed) to reach an interleaving on purpose. */
  wrapActivities?: (activities: Activities) => Activities;
  /** Tests run other workflow code (bundled at start), e.g. a deliberately broken version of a process. */
  workflowsPath?: string;
  /** TEMPORAL_* connection variables (envconfig) to use instead of the process's own, e.g. a test's cluster. */
  temporalEnv?: NodeJS.ProcessEnv;
  /** DNS for webhook deliveries; tests map names with it (a name that rebinds to 127.0.0.1). */
  egressLookup?: LookupFunction;
}

export interface OpsflowWorker {
  worker: Worker;
  deps: ActivityDeps;
  connection: NativeConnection;
  /** The workflow code it runs: a prebuilt bundle's path, or the entry it bundled at start. */
  workflowSource: string;
  /** The Temporal frontend it connected to (from TEMPORAL_ADDRESS, the temporal.toml profile, or the default). */
  address: string;
}

export async function createOpsflowWorker(options: OpsflowWorkerOptions): Promise<OpsflowWorker> {
  const { config, logger } = options;
  installRuntimeLogger(logger, config.TEMPORAL_SDK_METRICS_PORT, config.WORKER_METRICS_HOST);
  const deps = options.deps ?? createActivityDeps(config, logger, { egressLookup: options.egressLookup, temporalEnv: options.temporalEnv });
  // The same settings as the client's (envconfig: temporal.toml profile, TEMPORAL_* variables, mTLS or API key).
  const settings = temporalConnectionSettings(config, options.temporalEnv);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptionsOf(settings));
  } catch (error) {
    throw await connectFailure(settings, error);
  }
  const bundlePath = options.workflowsPath ? undefined : (options.workflowBundlePath ?? (await defaultBundlePath(config)));
  const worker = await Worker.create({
    connection,
    namespace: settings.namespace,
    taskQueue: options.taskQueue ?? config.TEMPORAL_TASK_QUEUE,
    activities: options.wrapActivities ? options.wrapActivities(createActivities(deps)) : createActivities(deps),
    interceptors: {
      activity: [activityTracingInterceptor(), activityLoggingInterceptor(logger), ...(deps.metrics ? [activityMetricsInterceptor(deps.metrics)] : [])],
      // A prebuilt bundle has them inside already (worker/build-bundle.ts).
      ...(bundlePath ? {} : { workflowModules: workflowTracingModules }),
    },
    sinks: workflowTracingSinks(),
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: options.workflowsPath ?? workflowsPath }),
  });
  return { worker, deps, connection, workflowSource: bundlePath ?? options.workflowsPath ?? workflowsPath, address: settings.address };
}
