// The Hetzner Cloud API's rate limit as its answers state it: `RateLimit-Limit` (requests per hour),
// `RateLimit-Remaining` and `RateLimit-Reset` (UNIX time in seconds when the budget is full again). The budget
// refills gradually (one request per second at 3600 per hour), so the wait for one more request is the time to
// refill one, not the time to the full reset.

/** The rate-limit state one answer reported. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** When the budget is full again, in milliseconds since the epoch. */
  resetAtMs: number;
}

function header(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** The RateLimit-* headers of an answer, or undefined when any of the three is missing or unreadable. */
export function readRateLimit(headers: Headers): RateLimitState | undefined {
  const limit = header(headers, 'ratelimit-limit');
  const remaining = header(headers, 'ratelimit-remaining');
  const reset = header(headers, 'ratelimit-reset');
  if (limit === undefined || remaining === undefined || reset === undefined || limit === 0) return undefined;
  return { limit, remaining, resetAtMs: reset * 1000 };
}

/**
 * Milliseconds until the budget `state` described holds one more request: 0 while requests remain; otherwise the
 * time one request takes to refill, (reset − now) / (limit − remaining), rounded up.
 */
export function msUntilNextRequest(state: RateLimitState, now: number): number {
  if (state.remaining > 0) return 0;
  const untilFull = state.resetAtMs - now;
  if (untilFull <= 0) return 0;
  return Math.ceil(untilFull / Math.max(1, state.limit - state.remaining));
}

/**
 * Remembers the last rate-limit state a client saw and estimates the budget since (requests spent, requests
 * refilled), so the client waits before a request the API would refuse instead of spending it on a 429.
 */
export class RateLimitGate {
  #last: { state: RateLimitState; at: number; spent: number } | undefined;

  /** Records the state of an answer received at `now` (answers without the headers change nothing). */
  observe(state: RateLimitState | undefined, now: number): void {
    if (state) this.#last = { state, at: now, spent: 0 };
  }

  /** Milliseconds to wait before the next request at `now` (0 when the budget allows it or nothing is known). */
  delayMs(now: number): number {
    if (!this.#last) return 0;
    const { state, at, spent } = this.#last;
    const missing = state.limit - state.remaining;
    if (missing <= 0 || state.resetAtMs <= at) return 0;
    const msPerRequest = (state.resetAtMs - at) / missing;
    const available = state.remaining - spent + (now - at) / msPerRequest;
    return available >= 1 ? 0 : Math.ceil((1 - available) * msPerRequest);
  }

  /** Counts a request about to be sent against the remembered budget. */
  spend(): void {
    if (this.#last) this.#last.spent += 1;
  }
}
