// Retrying a call of a Hetzner-shaped API: the policy, the loop, and the reading of Retry-After.
import { TransientProviderError } from '../contract.ts';

/** How failed exchanges are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  /** Base of the exponential backoff (with jitter) when the cloud gave no Retry-After. */
  backoffMs: number;
  maxBackoffMs: number;
  /** A Retry-After longer than this is not waited for: the TransientProviderError goes to the caller. */
  maxRetryAfterMs: number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

/**
 * Milliseconds to wait according to a Retry-After header (delta-seconds or an HTTP date), or undefined when
 * there is none or it cannot be read.
 */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Runs `attempt` until it succeeds, retrying TransientProviderErrors up to `policy.retries` times: after the
 * cloud's Retry-After when it gave one (exactly that long), else after an exponential backoff with jitter.
 * Other errors, and a Retry-After beyond `policy.maxRetryAfterMs`, go to the caller at once.
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: (attemptNumber: number) => Promise<T>): Promise<T> {
  for (let attemptNumber = 0; ; attemptNumber += 1) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      if (!(error instanceof TransientProviderError) || attemptNumber >= policy.retries) throw error;
      if (error.retryAfterMs !== undefined && error.retryAfterMs > policy.maxRetryAfterMs) throw error;
      const backoff = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** attemptNumber) * (0.5 + policy.random() / 2);
      await policy.sleep(error.retryAfterMs ?? Math.round(backoff));
    }
  }
}
