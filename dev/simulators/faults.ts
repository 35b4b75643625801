import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import { validationFailed } from './responses.js';

/** A failure queued over `POST /_control/faults`: the next `fail` matching requests get it. */
export interface Fault {
  system: string;
  /** "POST /purchase-orders": method and path inside the system; any route when absent. */
  route?: string;
  fail: number;
  status?: number;
  retryAfterSeconds?: number;
  /** Hang this long before answering, to look like a timeout. */
  delayMs?: number;
  /**
   * Handle the request normally but hold the answer for `delayMs`: the system did the work and the caller has
   * not heard yet (what a caller that crashes mid-call leaves behind).
   */
  passThrough?: boolean;
  body?: unknown;
}

export interface LoggedRequest {
  system: string;
  method: string;
  path: string;
  status: number;
  idempotencyKey: string | null;
  at: string;
  fault: boolean;
}

/** How a system's gate refuses a request and fails one under a fault, when not the simulators' usual JSON error. */
export interface GateStyle {
  unauthorized?: (res: Response, hadToken: boolean) => void;
  faultBody?: (status: number) => unknown;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What every simulated system shares: auth, latency, queued faults, a request log, and idempotency keys that
 * replay the first answer (and refuse the same key with another body).
 */
export class SimulatorControls {
  private faults: Fault[] = [];
  private readonly log: LoggedRequest[] = [];
  private readonly idempotency = new Map<string, { hash: string; result: Promise<{ status: number; body: unknown }> }>();
  /** Answers already given, kept with the records (persistence.ts) so a retry after a restart still replays. */
  readonly answered = { creates: [] as Array<{ key: string; hash: string; status: number; body: unknown }> };

  /** `apiKeys`: each system's own bearer key, so a key for one system never works on another. */
  constructor(private readonly options: { latencyMs: [number, number]; apiKeys: Record<string, string> }) {}

  injectFault(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  pendingFaults(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  requestLog(system?: string): LoggedRequest[] {
    return this.log.filter((r) => !system || r.system === system);
  }

  /**
   * Middleware for one system: logs, authenticates, waits, then applies a queued fault if one matches. A system whose
   * API answers errors its own way (Slack: HTTP 200 with `{ ok: false, error }`) passes how.
   */
  gate(system: string, style: GateStyle = {}): RequestHandler {
    return async (req: Request, res: Response, next: NextFunction) => {
      const entry: LoggedRequest = {
        system,
        method: req.method,
        path: req.path,
        status: 0,
        idempotencyKey: req.get('idempotency-key') ?? null,
        at: new Date().toISOString(),
        fault: false,
      };
      this.log.push(entry);
      if (this.log.length > 5000) this.log.shift();
      res.on('finish', () => {
        entry.status = res.statusCode;
      });

      const key = this.options.apiKeys[system];
      if (!key || req.get('authorization') !== `Bearer ${key}`) {
        if (style.unauthorized) return style.unauthorized(res, Boolean(req.get('authorization')));
        return void res.status(401).json({ error: { code: 'unauthorized', message: 'Missing or wrong bearer token' } });
      }
      const [min, max] = this.options.latencyMs;
      if (max > 0) await sleep(min + Math.random() * (max - min));

      const fault = this.takeFault(system, `${req.method} ${req.path}`);
      if (!fault) return next();
      entry.fault = true;
      if (fault.passThrough) {
        const send = res.json.bind(res);
        res.json = (body: unknown) => {
          setTimeout(() => send(body), fault.delayMs ?? 0);
          return res;
        };
        return next();
      }
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(fault.retryAfterSeconds));
      res
        .status(fault.status ?? 503)
        .json(fault.body ?? style.faultBody?.(fault.status ?? 503) ?? { error: { code: 'simulated_failure', message: `Simulated ${fault.status ?? 503} from ${system}` } });
    };
  }

  private takeFault(system: string, route: string): Fault | undefined {
    const fault = this.faults.find((f) => f.system === system && (!f.route || f.route === route) && f.fail > 0);
    if (!fault) return undefined;
    fault.fail -= 1;
    this.faults = this.faults.filter((f) => f.fail > 0);
    return fault;
  }

  /** A plain create: Idempotency-Key, the body checked with `schema` (422 naming each field), 201 with what `create` made. */
  creates<T>(system: string, schema: z.ZodType<T>, what: string, create: (fields: T, req: Request) => unknown): RequestHandler {
    return this.idempotent(system, async (req) => {
      const parsed = schema.safeParse(req.body);
      if (!parsed.success) return validationFailed(parsed.error, what);
      return { status: 201, body: create(parsed.data, req) };
    });
  }

  /**
   * Wraps a create handler: requires Idempotency-Key; the same key and body replay the first answer, even while
   * the first is still in flight; the same key with another body is a 422.
   */
  idempotent(system: string, create: (req: Request) => Promise<{ status: number; body: unknown }>): RequestHandler {
    return async (req, res) => {
      const key = req.get('idempotency-key');
      if (!key) return void res.status(400).json({ error: { code: 'idempotency_key_required', message: 'Idempotency-Key header is required' } });
      const hash = createHash('sha256').update(JSON.stringify(req.body ?? null)).digest('hex');
      const scoped = `${system}:${key}`;
      const stored = this.answered.creates.find((c) => c.key === scoped);
      const existing = this.idempotency.get(scoped) ?? (stored && { hash: stored.hash, result: Promise.resolve(stored) });
      if (existing && existing.hash !== hash) {
        return void res.status(422).json({ error: { code: 'idempotency_key_reused', message: 'This Idempotency-Key was used with a different body' } });
      }
      if (existing) {
        const first = await existing.result;
        return void res.status(first.status).setHeader('Idempotent-Replayed', 'true').json(first.body);
      }
      const result = create(req);
      this.idempotency.set(scoped, { hash, result });
      try {
        const { status, body } = await result;
        // Only successes are remembered: a refused request may be corrected and sent again with its key.
        if (status >= 400) this.idempotency.delete(scoped);
        else this.answered.creates.push({ key: scoped, hash, status, body });
        res.status(status).json(body);
      } catch (error) {
        this.idempotency.delete(scoped);
        throw error;
      }
    };
  }
}
