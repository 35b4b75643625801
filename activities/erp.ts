import { ApplicationFailure } from '@temporalio/activity';

export interface PurchaseOrderRequest {
  reference: string;
  vendor: string;
  description: string;
  amount: number;
  currency: string;
  costCenter: string;
  category: string;
  requestedBy: string;
}

export interface PurchaseOrder extends PurchaseOrderRequest {
  poNumber: string;
  status: string;
  createdAt: string;
}

/** The ERP as processes see it. `idempotencyKey` makes a retried call return the first PO, never a second one. */
export interface Erp {
  createPurchaseOrder(request: PurchaseOrderRequest, idempotencyKey: string): Promise<PurchaseOrder>;
}

export interface HttpErpOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}

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

export async function callJson<T>(system: string, url: string, init: RequestInit, timeoutMs: number): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw ApplicationFailure.retryable(`${system} unreachable at ${url}: ${(error as Error).message}`, `${system}Unavailable`);
  }
  if (!response.ok) throw await failureFromResponse(system, response);
  return (await response.json()) as T;
}

export class HttpErp implements Erp {
  constructor(private readonly options: HttpErpOptions) {}

  createPurchaseOrder(request: PurchaseOrderRequest, idempotencyKey: string): Promise<PurchaseOrder> {
    return callJson<PurchaseOrder>(
      'Erp',
      `${this.options.baseUrl.replace(/\/$/, '')}/purchase-orders`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${this.options.apiKey}`,
          'idempotency-key': idempotencyKey,
        },
        body: JSON.stringify(request),
      },
      this.options.timeoutMs,
    );
  }
}
