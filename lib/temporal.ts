import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
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

/** The settings were read, but Temporal could not be reached with them; `tlsRefusal` says why when TLS is the reason. */
export class TemporalConnectError extends TemporalConnectionConfigError {
  constructor(
    readonly address: string,
    readonly tlsRefusal: string | undefined,
    cause: Error,
  ) {
    super(`Could not connect to Temporal at ${address}: ${tlsRefusal ?? cause.message}`);
    this.name = 'TemporalConnectError';
    this.cause = cause;
  }
}

/** An HTTP/2 client preface and an empty SETTINGS frame, which any HTTP/2 server that accepted the handshake answers. */
const HTTP2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

/** Node's codes for a server certificate this client does not trust (tls.connect, checkServerIdentity). */
const UNTRUSTED_SERVER = /^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_TLS_CERT_ALTNAME)/;

/**
 * Why Temporal refuses a connection with these settings when TLS is the reason, found by a TLS handshake of our own
 * with the same certificates: the gRPC libraries report a client certificate the server rejects, or a plaintext
 * connection to a TLS frontend, only as a closed connection ("operation was canceled", "Failed to connect before
 * the deadline", "broken pipe"). Undefined when TLS is not the problem (the handshake succeeds and the server speaks
 * HTTP/2, or nothing answers at all).
 */
export async function tlsRefusal(settings: TemporalConnectionSettings, timeoutMs = 5_000): Promise<string | undefined> {
  const { hostname, port: portText } = new URL(`tcp://${settings.address}`);
  const host = hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(portText || 7233);
  if (!settings.tls) {
    return (await speaksTls(host, port, timeoutMs))
      ? 'the server speaks TLS and this connection does not (set TEMPORAL_TLS=true, or a tls section in the temporal.toml profile, with the client certificate and the CA)'
      : undefined;
  }
  const tls = settings.tls === true ? {} : settings.tls;
  const servername = tls.serverNameOverride ?? (isIP(host) ? undefined : host);
  const clientCertificate = tls.clientCertPair ? 'this client certificate' : 'a connection without a client certificate';
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      ...(servername ? { servername } : {}),
      ...(tls.serverRootCACertificate ? { ca: [Buffer.from(tls.serverRootCACertificate)] } : {}),
      ...(tls.clientCertPair ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) } : {}),
      ALPNProtocols: ['h2'],
    });
    const settle = (problem: string | undefined) => {
      clearTimeout(timer);
      clearTimeout(preface);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => settle(undefined), timeoutMs);
    let preface: NodeJS.Timeout | undefined;
    let handshakeDone = false;
    socket.once('secureConnect', () => {
      handshakeDone = true;
      // A gRPC server that accepts the client's certificate sends its HTTP/2 SETTINGS unasked; one that refuses it
      // sends a TLS alert. Writing at once could race the server's close (a reset that hides the alert), so the
      // preface goes out only for a server that waits for it.
      preface = setTimeout(() => socket.write(HTTP2_PREFACE), 500);
    });
    socket.once('data', () => settle(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // Nothing listening, or no such host: not a TLS problem.
      if (error.syscall === 'connect' || error.syscall === 'getaddrinfo') return settle(undefined);
      // "error:0A000412:SSL routines::sslv3 alert bad certificate" → "bad certificate"
      const alert = / alert ([a-z][a-z ]*[a-z])/.exec(error.message)?.[1];
      if (alert) return settle(`the server refused ${clientCertificate} (TLS alert "${alert}")`);
      if (UNTRUSTED_SERVER.test(error.code ?? '')) return settle(`the server's certificate is not trusted here: ${error.message} (check the server CA and server name settings)`);
      settle(handshakeDone ? `the server dropped the connection after the TLS handshake (${error.message}): it did not accept ${clientCertificate}` : `the TLS handshake failed: ${error.message}`);
    });
    socket.once('close', () =>
      settle(handshakeDone ? `the server closed the connection after the TLS handshake, before answering: it did not accept ${clientCertificate}` : 'the server closed the connection during the TLS handshake'),
    );
  });
}

/** Whether a TLS handshake (trusting any certificate: nothing is sent) gets a TLS answer from the server. */
async function speaksTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], ...(isIP(host) ? {} : { servername: host }) });
    const settle = (answered: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    socket.once('secureConnect', () => settle(true));
    socket.once('error', (error) => settle(/ alert /.test(error.message)));
  });
}

/** The error a failed connect becomes: the address, and why TLS refused it when that is the reason. */
export async function connectFailure(settings: TemporalConnectionSettings, error: unknown): Promise<TemporalConnectError> {
  return new TemporalConnectError(settings.address, await tlsRefusal(settings), error as Error);
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
    throw await connectFailure(settings, error);
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
