import { ApplicationFailure } from '@temporalio/activity';
import { withClientSpan } from '../lib/tracing.js';

/**
 * Turns an HTTP answer from an external system into the right failure: 429 and 5xx are retried (honouring
 * Retry-After), other 4xx are the caller's fault and retrying cannot fix them.
 */
export async function failureFromResponse(system: string, response: Response): Promise<ApplicationFailure> {
  const body = await response.text().catch(() => '');
  let message = body.slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } };
    if (parsed.error?.message) message = parsed.error.message;
  } catch {
    // not JSON: keep the text
  }
  const summary = `${system} answered ${response.status}: ${message || response.statusText}`;
  if (response.status === 429 || response.status >= 500) {
    const retryAfter = Number(response.headers.get('retry-after'));
    return ApplicationFailure.create({
      message: summary,
      type: `${system}Unavailable`,
      nonRetryable: false,
      nextRetryDelay: Number.isFinite(retryAfter) && retryAfter > 0 ? `${retryAfter}s` : undefined,
      details: [{ status: response.status }],
    });
  }
  return ApplicationFailure.create({
    message: summary,
    type: `${system}Rejected`,
    nonRetryable: true,
    details: [{ status: response.status }],
  });
}

/**
 * One JSON call in a client span (lib/tracing.ts): the request carries `traceparent`, so the external system's own
 * spans join the run's trace.
 */
export async function callJson<T>(system: string, url: string, init: RequestInit, timeoutMs: number): Promise<T> {
  const method = init.method ?? 'GET';
  return withClientSpan(`${method} ${system}`, { 'http.request.method': method, 'server.address': new URL(url).host, 'opsflow.system': system }, async (traceHeaders, span) => {
    let response: Response;
    try {
      response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...traceHeaders }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw ApplicationFailure.retryable(`${system} unreachable at ${url}: ${(error as Error).message}`, `${system}Unavailable`);
    }
    span.setAttribute('http.response.status_code', response.status);
    if (!response.ok) throw await failureFromResponse(system, response);
    return (await response.json()) as T;
  });
}

export interface HttpSystemOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}

/**
 * A JSON API behind a bearer key. Failures arrive typed (see failureFromResponse): `${system}Unavailable` for
 * 429/5xx/timeouts (retried), `${system}Rejected` for other 4xx (not retried).
 */
export class HttpSystem {
  constructor(
    readonly system: string,
    private readonly options: HttpSystemOptions,
  ) {}

  private url(path: string): string {
    return `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { 'content-type': 'application/json', authorization: `Bearer ${this.options.apiKey}`, ...extra };
  }

  get<T>(path: string): Promise<T> {
    return callJson<T>(this.system, this.url(path), { method: 'GET', headers: this.headers() }, this.options.timeoutMs);
  }

  /** A create: the key makes a retried call return the first record instead of a second one. */
  create<T>(path: string, body: unknown, idempotencyKey: string): Promise<T> {
    return callJson<T>(this.system, this.url(path), { method: 'POST', headers: this.headers({ 'idempotency-key': idempotencyKey }), body: JSON.stringify(body) }, this.options.timeoutMs);
  }

  /** A state change on an existing record (close, cancel, deactivate): repeating it is harmless. */
  post<T>(path: string, body: unknown = {}): Promise<T> {
    return callJson<T>(this.system, this.url(path), { method: 'POST', headers: this.headers(), body: JSON.stringify(body) }, this.options.timeoutMs);
  }
}
