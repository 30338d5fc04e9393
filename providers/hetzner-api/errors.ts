// The Hetzner Cloud API's error answers (`{ error: { code, message, details } }`) as the contract's typed errors.
// The error code decides first, then the HTTP status.
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

const CAPACITY_CODES = new Set(['resource_unavailable', 'placement_error']);
const QUOTA_CODES = new Set(['resource_limit_exceeded']);
const AUTH_CODES = new Set(['unauthorized', 'forbidden', 'token_readonly']);
const TRANSIENT_CODES = new Set(['rate_limit_exceeded', 'locked', 'conflict', 'timeout', 'bad_gateway', 'server_error', 'service_error', 'maintenance', 'unavailable']);
const INVALID_CODES = new Set(['invalid_input', 'json_error', 'uniqueness_error', 'protected', 'unsupported_error', 'method_not_allowed']);

/** Where an error came from: the HTTP status (when there was an answer), the API's code, a Retry-After hint. */
export interface AnswerDetails {
  httpStatus?: number;
  cloudCode?: string;
  retryAfterMs?: number;
}

/**
 * The typed error for `message` with the API's error code and HTTP status: `resource_unavailable` and
 * `placement_error` → InsufficientCapacityError, `resource_limit_exceeded` → QuotaExceededError, `unauthorized`,
 * `forbidden`, `token_readonly`, 401 and 403 → ProviderAuthError, `rate_limit_exceeded`, `locked`, `conflict`, 423,
 * 429 and 5xx → TransientProviderError (with `retryAfterMs`), `invalid_input`, `uniqueness_error`, 400, 409, 412
 * and 422 → InvalidRequestError. Only a 404 with code `not_found` is ServerNotFoundError; anything else is
 * UnexpectedResponseError.
 */
export function errorOfCode(message: string, details: AnswerDetails): ProviderError {
  const { httpStatus: status, cloudCode: code, retryAfterMs } = details;
  const origin = { httpStatus: status, cloudCode: code };
  if (status === 404 && code === 'not_found') return new ServerNotFoundError(message, origin);
  if (code && CAPACITY_CODES.has(code)) return new InsufficientCapacityError(message, origin);
  if (code && QUOTA_CODES.has(code)) return new QuotaExceededError(message, origin);
  if (code && AUTH_CODES.has(code)) return new ProviderAuthError(message, origin);
  if (code && TRANSIENT_CODES.has(code)) return new TransientProviderError(message, { ...origin, retryAfterMs });
  if (code && INVALID_CODES.has(code)) return new InvalidRequestError(message, origin);
  if (status === 401 || status === 403) return new ProviderAuthError(message, origin);
  if (status !== undefined && (status === 429 || status === 423 || status >= 500)) return new TransientProviderError(message, { ...origin, retryAfterMs });
  if (status === 400 || status === 409 || status === 412 || status === 422) return new InvalidRequestError(message, origin);
  return new UnexpectedResponseError(message, origin);
}

/** The typed error for an error answer of `what` (e.g. `GET /servers/1`): HTTP `status` and body `body`. */
export function errorFromAnswer(what: string, status: number, body: unknown, retryAfterMs: number | undefined): ProviderError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const cloudCode = typeof error?.code === 'string' ? error.code : undefined;
  const message = `${what}: HTTP ${status}${cloudCode ? ` ${cloudCode}` : ''}${typeof error?.message === 'string' ? `: ${error.message}` : ''}`;
  return errorOfCode(message, { httpStatus: status, ...(cloudCode === undefined ? {} : { cloudCode }), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
}
