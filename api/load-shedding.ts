import { AppError } from '../lib/errors.js';

export interface InFlightLimits {
  /** Tasks running at once. */
  concurrency: number;
  /** Tasks that may wait for a slot; one more is refused at once. */
  queue: number;
  /** How long a task waits for a slot before it is refused. */
  queueWaitMs: number;
}

/** What a shed request is told: the API is busy, nothing was done, retry after a second or two. */
export function busyError(what: string, retryAfterSeconds: number): AppError {
  return new AppError('unavailable', `The API is busy with other ${what}; nothing was done. Retry after ${retryAfterSeconds} s.`, {
    dependency: 'api',
    reason: 'overloaded',
    retryAfterSeconds,
  });
}

/**
 * A bounded in-flight limiter: at most `concurrency` tasks run, at most `queue` wait (each at most `queueWaitMs`),
 * and the rest are refused with 503 + Retry-After before they touch the database. Under a burst the API sheds load
 * this way instead of letting every request queue on the connection pool until Prisma gives up with a 500.
 */
export class InFlightLimiter {
  private running = 0;
  private readonly waiting: Array<{ start: () => void; timer: NodeJS.Timeout }> = [];

  constructor(
    private readonly limits: InFlightLimits,
    private readonly what = 'requests',
  ) {}

  get inFlight(): number {
    return this.running;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private retryAfterSeconds(): number {
    // Roughly how long the queue ahead takes to drain, at least a second.
    return Math.max(1, Math.ceil(this.waiting.length / Math.max(1, this.limits.concurrency)));
  }

  private acquire(): Promise<void> {
    if (this.running < this.limits.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.limits.queue) return Promise.reject(busyError(this.what, this.retryAfterSeconds()));
    return new Promise((resolve, reject) => {
      const entry = {
        start: () => {
          clearTimeout(entry.timer);
          this.running++;
          resolve();
        },
        timer: setTimeout(() => {
          const at = this.waiting.indexOf(entry);
          if (at >= 0) this.waiting.splice(at, 1);
          reject(busyError(this.what, this.retryAfterSeconds()));
        }, this.limits.queueWaitMs),
      };
      this.waiting.push(entry);
    });
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.start();
  }
}
