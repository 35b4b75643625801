import { existsSync } from 'node:fs';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { Config } from './config.js';
import { temporalClientInterceptors } from './tracing.js';

/**
 * How Opsflow reaches Temporal, read the way the `temporal` CLI reads it (@temporalio/envconfig): a profile from a
 * `temporal.toml` (TEMPORAL_CONFIG_FILE, else the CLI's default file; TEMPORAL_PROFILE picks one), with the
 * environment over it: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS and
 * TEMPORAL_TLS_CLIENT_CERT_PATH / _CLIENT_KEY_PATH / _SERVER_CA_CERT_PATH / _SERVER_NAME (or their _DATA forms),
 * TEMPORAL_GRPC_META_<NAME>. One configuration serves Opsflow's API and worker, the CLI and the UI.
 */
export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export class TemporalConnectionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalConnectionConfigError';
  }
}

/** The connection settings; `config` supplies the defaults (localhost:7233, namespace default) when nothing else does. */
export function temporalConnectionSettings(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>, env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  const file = env.TEMPORAL_CONFIG_FILE;
  if (file && !existsSync(file)) throw new TemporalConnectionConfigError(`TEMPORAL_CONFIG_FILE=${file} does not exist`);
  let loaded;
  try {
    loaded = loadClientConnectConfig({
      profile: env.TEMPORAL_PROFILE,
      overrideEnvVars: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined)),
      ...(file ? { configSource: { path: file } } : {}),
    });
  } catch (error) {
    throw new TemporalConnectionConfigError(`Temporal connection settings are invalid: ${(error as Error).message}`);
  }
  const { connectionOptions } = loaded;
  return {
    address: connectionOptions.address ?? config.TEMPORAL_ADDRESS,
    namespace: loaded.namespace ?? config.TEMPORAL_NAMESPACE,
    ...(connectionOptions.tls !== undefined ? { tls: connectionOptions.tls as TLSConfig | boolean } : {}),
    ...(connectionOptions.apiKey ? { apiKey: connectionOptions.apiKey as string } : {}),
    ...(connectionOptions.metadata ? { metadata: connectionOptions.metadata as Record<string, string> } : {}),
  };
}

/** What both Connection.connect (client) and NativeConnection.connect (worker) take. */
export function connectionOptionsOf(settings: TemporalConnectionSettings) {
  return {
    address: settings.address,
    ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(settings.metadata ? { metadata: settings.metadata } : {}),
  };
}

/**
 * A client on the configured connection. A refused certificate or an unreachable server fails here with the
 * address and Temporal's own reason, rather than later on the first request.
 */
export async function connectClient(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>, env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const settings = temporalConnectionSettings(config, env);
  try {
    const connection = await Connection.connect(connectionOptionsOf(settings));
    return new Client({ connection, namespace: settings.namespace, interceptors: temporalClientInterceptors() });
  } catch (error) {
    throw new TemporalConnectionConfigError(`Could not connect to Temporal at ${settings.address}${settings.tls ? ' (TLS)' : ''}: ${(error as Error).message}`);
  }
}

/**
 * gRPC attempts per call from the API: about a second of retries, then the request answers 503. (The SDK's default,
 * ten attempts, held a request for 20 to 40 s while Temporal was down.)
 */
export const API_TEMPORAL_CALL_ATTEMPTS = 4;

/**
 * A client whose connection is made on first use and re-made by gRPC after an outage: the API starts, serves health,
 * link pages and reads while Temporal is down, and reaches it once it is back, without a restart. Settings errors
 * (a missing certificate file, a bad profile) still fail here, at start.
 */
export function lazyClient(config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE'>, env: NodeJS.ProcessEnv = process.env, attempts = API_TEMPORAL_CALL_ATTEMPTS): Client {
  const settings = temporalConnectionSettings(config, env);
  const connection = Connection.lazy({
    ...connectionOptionsOf(settings),
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: attempts }))],
  });
  return new Client({ connection, namespace: settings.namespace, interceptors: temporalClientInterceptors() });
}

/** Resolves once Temporal answers (polling every `everyMs`), for a log line that says the API reached it. */
export async function whenReachable(client: Client, everyMs = 2_000, signal?: AbortSignal): Promise<void> {
  while (!signal?.aborted) {
    try {
      await client.workflowService.getSystemInfo({});
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, everyMs).unref());
    }
  }
}
