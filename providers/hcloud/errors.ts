// The Hetzner Cloud API's error answers (`{ error: { code, message, details } }`) as the contract's typed errors.
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
const TRANSIENT_CODES = new Set(['rate_limit_exceeded', 'locked', 'conflict', 'timeout', 'server_error', 'service_error', 'maintenance', 'unavailable']);
const INVALID_CODES = new Set(['invalid_input', 'json_error', 'uniqueness_error', 'protected', 'unsupported_error', 'method_not_allowed']);

/**
 * The typed error for an error answer of the Hetzner Cloud API. The error code decides first, then the HTTP
 * status: `resource_unavailable` and `placement_error` → InsufficientCapacityError, `resource_limit_exceeded` →
 * QuotaExceededError, `rate_limit_exceeded`, `locked` and 5xx → TransientProviderError (with `retryAfterMs`),
 * 401/403 → ProviderAuthError. Only a 404 with code `not_found` is ServerNotFoundError.
 */
export function errorFromHcloudAnswer(what: string, status: number, body: unknown, retryAfterMs: number | undefined): ProviderError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const cloudCode = typeof error?.code === 'string' ? error.code : undefined;
  const message = `${what}: HTTP ${status}${cloudCode ? ` ${cloudCode}` : ''}${typeof error?.message === 'string' ? `: ${error.message}` : ''}`;
  const details = { httpStatus: status, cloudCode };
  if (status === 404 && cloudCode === 'not_found') return new ServerNotFoundError(message, details);
  if (cloudCode && CAPACITY_CODES.has(cloudCode)) return new InsufficientCapacityError(message, details);
  if (cloudCode && QUOTA_CODES.has(cloudCode)) return new QuotaExceededError(message, details);
  if (cloudCode && AUTH_CODES.has(cloudCode)) return new ProviderAuthError(message, details);
  if (cloudCode && TRANSIENT_CODES.has(cloudCode)) return new TransientProviderError(message, { ...details, retryAfterMs });
  if (cloudCode && INVALID_CODES.has(cloudCode)) return new InvalidRequestError(message, details);
  if (status === 401 || status === 403) return new ProviderAuthError(message, details);
  if (status === 429 || status === 423 || status >= 500) return new TransientProviderError(message, { ...details, retryAfterMs });
  if (status === 400 || status === 409 || status === 412 || status === 422) return new InvalidRequestError(message, details);
  return new UnexpectedResponseError(message, details);
}

/** Hetzner error codes as the hcloud Pulumi provider prints them in a failed `up` (`message (code)`, `(code, request id)`). */
const CODE_IN_TEXT = /\((resource_unavailable|placement_error|resource_limit_exceeded|rate_limit_exceeded|unauthorized|token_readonly|forbidden|invalid_input|uniqueness_error)[,)]/;

/**
 * The typed error a failed `pulumi up` of the hcloud Pulumi provider reports in its text, or undefined. The
 * native provider's errors carry no `[provider-error:...]` tag; they end in the API's error code in parentheses
 * (`error during placement (resource_unavailable, 0123abcd)`), which this reads.
 */
export function hcloudErrorFromText(text: string): ProviderError | undefined {
  const code = CODE_IN_TEXT.exec(text)?.[1];
  if (!code) return undefined;
  const message = text.trim();
  if (CAPACITY_CODES.has(code)) return new InsufficientCapacityError(message, { cloudCode: code });
  if (QUOTA_CODES.has(code)) return new QuotaExceededError(message, { cloudCode: code });
  if (AUTH_CODES.has(code)) return new ProviderAuthError(message, { cloudCode: code });
  if (code === 'rate_limit_exceeded') return new TransientProviderError(message, { cloudCode: code });
  return new InvalidRequestError(message, { cloudCode: code });
}
