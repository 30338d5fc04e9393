// The Hetzner Cloud API's rate limit: a budget of `limit` requests that refills gradually (by default one request
// per second at 3600 per hour). Every answer carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset
// (UNIX seconds when the budget is full again); a request over budget gets 429 `rate_limit_exceeded`.

/** A token bucket over the clock `now`. */
export class RateLimiter {
  readonly limit: number;
  readonly #refillPerMs: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  /** `refillPerSecond` defaults to limit / 3600 (the documented hourly budget). */
  constructor(limit: number, refillPerSecond: number = limit / 3600, now: () => number = Date.now) {
    this.limit = limit;
    this.#refillPerMs = refillPerSecond / 1000;
    this.#now = now;
    this.#tokens = limit;
    this.#at = now();
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.limit, this.#tokens + (now - this.#at) * this.#refillPerMs);
    this.#at = now;
  }

  /** Spends one request when the budget allows it; false when the request must get a 429. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Sets the budget left (tests drain it to provoke 429s). */
  setRemaining(remaining: number): void {
    this.#refill();
    this.#tokens = Math.max(0, Math.min(this.limit, remaining));
  }

  /** The three RateLimit-* headers for an answer sent now. */
  headers(): Record<string, string> {
    this.#refill();
    const untilFullMs = (this.limit - this.#tokens) / this.#refillPerMs;
    return {
      'RateLimit-Limit': String(this.limit),
      'RateLimit-Remaining': String(Math.floor(this.#tokens)),
      'RateLimit-Reset': String(Math.ceil((this.#at + untilFullMs) / 1000)),
    };
  }
}
