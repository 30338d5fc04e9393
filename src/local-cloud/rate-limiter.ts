/** A rate limit like the Hetzner Cloud API's: a bucket of `limit` requests that refills `refillPerSecond` per second. */
export interface RateLimit {
  limit: number;
  refillPerSecond: number;
}

/** The outcome of one request against the bucket, with what the API puts in its RateLimit-* headers. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Whole requests left after this one. */
  remaining: number;
  /** Unix time (seconds) when the bucket is full again. */
  resetAt: number;
}

/** A token bucket on an injectable clock (`now` in milliseconds). Starts full. */
export class TokenBucket {
  readonly #limit: number;
  readonly #refillPerMs: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(rate: RateLimit, now: () => number) {
    this.#limit = rate.limit;
    this.#refillPerMs = rate.refillPerSecond / 1000;
    this.#now = now;
    this.#tokens = rate.limit;
    this.#updatedAt = now();
  }

  #refill(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#limit, this.#tokens + (now - this.#updatedAt) * this.#refillPerMs);
    this.#updatedAt = now;
    return now;
  }

  /** Sets the requests left in the bucket now (0 to the limit): tests exhaust it to provoke 429s. */
  setRemaining(remaining: number): void {
    this.#refill();
    this.#tokens = Math.max(0, Math.min(this.#limit, remaining));
  }

  /** Takes one token when there is one. */
  take(): RateDecision {
    const now = this.#refill();
    const allowed = this.#tokens >= 1;
    if (allowed) this.#tokens -= 1;
    const resetAt = Math.ceil((now + (this.#limit - this.#tokens) / this.#refillPerMs) / 1000);
    return { allowed, limit: this.#limit, remaining: Math.floor(this.#tokens), resetAt };
  }
}
