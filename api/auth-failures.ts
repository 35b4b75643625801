/**
 * Limits failed API-key checks (bearer auth and console sign-in) by client address and by key id, in fixed windows.
 * A client over its limit is refused before its key is even looked at, so guessing stays slow whether the guesses
 * come from one address or aim at one key from many. Kept in memory per API process: a restart forgets the counts,
 * which is acceptable for slowing guessing down (256-bit secrets are not guessable anyway; this stops scanning).
 */
export interface FailureLimits {
  /** Failed checks a client address may make per window. */
  perClient: number;
  /** Failed checks one key id may get per window, from anywhere. */
  perKeyId: number;
  windowMs: number;
}

export const defaultFailureLimits: FailureLimits = { perClient: 20, perKeyId: 10, windowMs: 5 * 60_000 };

interface Window {
  failures: number;
  resetsAt: number;
}

/** Entries beyond this are pruned of expired windows, so a scan from many addresses cannot grow memory forever. */
const PRUNE_ABOVE = 10_000;

export class FailedKeyCheckLimiter {
  readonly #windows = new Map<string, Window>();

  constructor(
    readonly limits: FailureLimits = defaultFailureLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until this client (and key id, when the presented value had one) may try again; 0 = now. */
  retryAfterSeconds(client: string, keyId?: string): number {
    const wait = (key: string, limit: number) => {
      const window = this.#windows.get(key);
      if (!window || window.resetsAt <= this.now() || window.failures < limit) return 0;
      return Math.ceil((window.resetsAt - this.now()) / 1000);
    };
    return Math.max(wait(`client:${client}`, this.limits.perClient), keyId ? wait(`key:${keyId}`, this.limits.perKeyId) : 0);
  }

  recordFailure(client: string, keyId?: string): void {
    this.#count(`client:${client}`);
    if (keyId) this.#count(`key:${keyId}`);
  }

  #count(key: string): void {
    const now = this.now();
    if (this.#windows.size > PRUNE_ABOVE) {
      for (const [entry, window] of this.#windows) if (window.resetsAt <= now) this.#windows.delete(entry);
    }
    const window = this.#windows.get(key);
    if (!window || window.resetsAt <= now) this.#windows.set(key, { failures: 1, resetsAt: now + this.limits.windowMs });
    else window.failures += 1;
  }
}
