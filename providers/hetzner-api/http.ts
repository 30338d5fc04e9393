// One exchange with a Hetzner-shaped API turned into data or a typed error, paced by its rate limit. Knows nothing
// of servers (the retry loop around exchanges is in retry.ts). The API token goes only into the Authorization
// header and is cut out of every error message.
import { TransientProviderError, UnexpectedResponseError } from '../contract.ts';
import { errorFromAnswer } from './errors.ts';
import { readRateLimit, msUntilNextRequest, type RateLimitGate } from './rate-limit.ts';
import { parseRetryAfter } from './retry.ts';

/** Where and how to reach the API. */
export interface HetznerHttp {
  /** Base URL, e.g. `https://api.hetzner.cloud/v1` (no trailing slash). */
  endpoint: string;
  /** The API token, or undefined for a cloud that needs none; never logged, never part of an error message. */
  token: string | undefined;
  timeoutMs: number;
  gate: RateLimitGate;
  /** A wait the rate limit asks for longer than this is not waited for: the request fails as transient instead. */
  maxWaitMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

/** `text` with every occurrence of `secret` replaced by `[redacted]`. */
export function redact(text: string, secret: string): string {
  return secret.length === 0 ? text : text.split(secret).join('[redacted]');
}

/** `error` with the token cut out of its message (ProviderErrors keep their class). */
function redacted<E extends Error>(error: E, token: string | undefined): E {
  if (token && error.message.includes(token)) error.message = redact(error.message, token);
  return error;
}

/**
 * Sends one request (after waiting as long as the last known rate-limit state asks; a longer wait than
 * `maxWaitMs` is a TransientProviderError with that wait, and no request is sent) and returns the parsed JSON
 * body of a 2xx answer. Throws a ProviderError: the mapped error of an error answer (a 429 carries, as
 * `retryAfterMs`, the time one request takes to refill, from the RateLimit-* headers, or Retry-After when sent),
 * TransientProviderError when the connection fails or times out, UnexpectedResponseError for a 2xx body that is
 * not JSON.
 */
export async function requestOnce(http: HetznerHttp, method: string, path: string, body?: unknown): Promise<unknown> {
  const what = `${method} ${path}`;
  const wait = http.gate.delayMs(http.now());
  if (wait > http.maxWaitMs) throw new TransientProviderError(`${what}: the rate limit allows the next request in ${wait} ms`, { cloudCode: 'rate_limit_exceeded', retryAfterMs: wait });
  if (wait > 0) await http.sleep(wait);
  http.gate.spend();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (http.token) headers.authorization = `Bearer ${http.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${http.endpoint}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(http.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${http.timeoutMs} ms` : 'the connection failed or the answer was lost';
    throw new TransientProviderError(`${what}: ${reason}`, { cause: error instanceof Error ? redacted(error, http.token) : error });
  }
  const rateLimit = readRateLimit(response.headers);
  http.gate.observe(rateLimit, http.now());
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    if (response.ok) throw new UnexpectedResponseError(`${what}: HTTP ${response.status} with a body that is not JSON`, { httpStatus: response.status });
  }
  if (!response.ok) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), http.now()) ?? (response.status === 429 && rateLimit ? Math.max(1, msUntilNextRequest(rateLimit, http.now())) : undefined);
    throw redacted(errorFromAnswer(what, response.status, parsed, retryAfterMs), http.token);
  }
  return parsed;
}
