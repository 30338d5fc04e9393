// One HTTP exchange with a Hetzner-shaped cloud API, turned into data or a typed ProviderError (the retry loop
// around such exchanges is in ../retry.ts). Knows nothing of servers.
import {
  InsufficientCapacityError,
  InvalidRequestError,
  ProviderAuthError,
  type ProviderError,
  QuotaExceededError,
  ServerNotFoundError,
  TransientProviderError,
  UnexpectedResponseError,
} from '../contract.ts';
import { parseRetryAfter } from '../retry.ts';

/** Where and how to reach the API. */
export interface HttpSettings {
  /** Base URL of the API, e.g. `http://127.0.0.1:40123/v1`. */
  endpoint: string;
  /** API token sent as `Authorization: Bearer`; never logged, never part of an error message. */
  token: string | undefined;
  /** Milliseconds before a request is abandoned (a transient failure). */
  timeoutMs: number;
}

/**
 * The typed error for an error answer: the cloud's error code decides first (`not_found`, `resource_unavailable`,
 * `resource_limit_exceeded`, ...), then the HTTP status. Only a 404 with code `not_found` is ServerNotFoundError.
 */
export function errorFromAnswer(what: string, status: number, body: unknown, retryAfterMs: number | undefined): ProviderError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const cloudCode = typeof error?.code === 'string' ? error.code : undefined;
  const message = `${what}: HTTP ${status}${cloudCode ? ` ${cloudCode}` : ''}${typeof error?.message === 'string' ? `: ${error.message}` : ''}`;
  const details = { httpStatus: status, cloudCode };
  if (status === 404 && cloudCode === 'not_found') return new ServerNotFoundError(message, details);
  if (cloudCode === 'resource_unavailable') return new InsufficientCapacityError(message, details);
  if (cloudCode === 'resource_limit_exceeded') return new QuotaExceededError(message, details);
  if (status === 401 || status === 403) return new ProviderAuthError(message, details);
  if (status === 429 || status === 423 || status >= 500) return new TransientProviderError(message, { ...details, retryAfterMs });
  if (status === 400 || status === 409 || status === 412 || status === 422) return new InvalidRequestError(message, details);
  return new UnexpectedResponseError(message, details);
}

/**
 * Sends one request and returns the parsed JSON body of a 2xx answer. Throws a ProviderError: the mapped error
 * for an error answer, TransientProviderError when the connection fails, times out or drops the answer,
 * UnexpectedResponseError when a 2xx body is not JSON.
 */
export async function requestOnce(settings: HttpSettings, method: string, path: string, body?: unknown): Promise<unknown> {
  const what = `${method} ${path}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (settings.token) headers.authorization = `Bearer ${settings.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${settings.endpoint}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${settings.timeoutMs} ms` : 'the connection failed or the answer was lost';
    throw new TransientProviderError(`${what}: ${reason}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
    if (response.ok) throw new UnexpectedResponseError(`${what}: HTTP ${response.status} with a body that is not JSON`, { httpStatus: response.status });
  }
  if (!response.ok) throw errorFromAnswer(what, response.status, parsed, parseRetryAfter(response.headers.get('retry-after')));
  return parsed;
}
