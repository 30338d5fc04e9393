// AWS EC2 errors (SDK v3 service exceptions, network failures, `pulumi up` texts) as the contract's typed errors.
import {
  InsufficientCapacityError,
  InvalidRequestError,
  ProviderAuthError,
  type ProviderError,
  ProviderError as ProviderErrorClass,
  QuotaExceededError,
  ServerNotFoundError,
  TransientProviderError,
  UnexpectedResponseError,
} from '../contract.ts';

const NOT_FOUND = new Set(['InvalidInstanceID.NotFound']);
const CAPACITY = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacityOnHost',
  'InsufficientFreeAddressesInSubnet',
  'SpotMaxPriceTooLow',
]);
const QUOTA = new Set(['InstanceLimitExceeded', 'VcpuLimitExceeded', 'MaxSpotInstanceCountExceeded', 'ResourceLimitExceeded', 'InstanceCreditLimitExceeded']);
const TRANSIENT = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'IncorrectInstanceState', 'IncorrectState', 'RequestTimeout', 'RequestExpired']);
const AUTH = new Set(['AuthFailure', 'UnauthorizedOperation', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredToken', 'OptInRequired', 'Blocked', 'CredentialsProviderError']);

/** The kind of error EC2's error `code` names, or undefined for codes this provider does not single out. */
function byCode(code: string): 'not-found' | 'capacity' | 'quota' | 'transient' | 'auth' | 'invalid' | undefined {
  if (NOT_FOUND.has(code)) return 'not-found';
  if (CAPACITY.has(code)) return 'capacity';
  if (QUOTA.has(code)) return 'quota';
  if (TRANSIENT.has(code)) return 'transient';
  if (AUTH.has(code)) return 'auth';
  if (/^(Invalid|Missing|Unsupported|UnknownParameter|DryRunOperation)/.test(code)) return 'invalid';
  return undefined;
}

function ofKind(kind: ReturnType<typeof byCode>, message: string, details: { httpStatus?: number; cloudCode?: string; cause?: unknown }): ProviderError | undefined {
  switch (kind) {
    case 'not-found':
      return new ServerNotFoundError(message, details);
    case 'capacity':
      return new InsufficientCapacityError(message, details);
    case 'quota':
      return new QuotaExceededError(message, details);
    case 'transient':
      return new TransientProviderError(message, details);
    case 'auth':
      return new ProviderAuthError(message, details);
    case 'invalid':
      return new InvalidRequestError(message, details);
    default:
      return undefined;
  }
}

/**
 * The typed error for a failed EC2 call `what` (thrown by the SDK after its own retries). The EC2 error code
 * decides first: `InvalidInstanceID.NotFound` → ServerNotFoundError, `InsufficientInstanceCapacity` and friends →
 * InsufficientCapacityError, `InstanceLimitExceeded`, `VcpuLimitExceeded`, `MaxSpotInstanceCountExceeded` →
 * QuotaExceededError, throttling and internal errors → TransientProviderError, credential failures →
 * ProviderAuthError, `Invalid*`/`Missing*` → InvalidRequestError. Then the HTTP status; an error with no answer
 * at all (connection refused, timeout) is transient.
 */
export function errorFromAws(what: string, error: unknown): ProviderError {
  if (error instanceof ProviderErrorClass) return error;
  const failure = error as { name?: unknown; Code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  const code = typeof failure?.Code === 'string' ? failure.Code : typeof failure?.name === 'string' ? failure.name : undefined;
  const httpStatus = failure?.$metadata?.httpStatusCode;
  const message = `${what}: ${code ?? 'error'}${httpStatus ? ` (HTTP ${httpStatus})` : ''}: ${typeof failure?.message === 'string' ? failure.message : String(error)}`;
  const details = { ...(httpStatus === undefined ? {} : { httpStatus }), ...(code === undefined ? {} : { cloudCode: code }), cause: error };
  const typed = code === undefined ? undefined : ofKind(byCode(code), message, details);
  if (typed) return typed;
  if (httpStatus === undefined) return new TransientProviderError(message, details);
  if (httpStatus === 401 || httpStatus === 403) return new ProviderAuthError(message, details);
  if (httpStatus === 429 || httpStatus >= 500) return new TransientProviderError(message, details);
  if (httpStatus >= 400) return new InvalidRequestError(message, details);
  return new UnexpectedResponseError(message, details);
}

const CODE_IN_TEXT = new RegExp(`\\b(${[...CAPACITY, ...QUOTA, ...AUTH, 'RequestLimitExceeded'].map((code) => code.replace('.', '\\.')).join('|')})\\b`);

/**
 * The typed error a failed `pulumi up` of the AWS Pulumi provider reports in its text (`api error
 * InsufficientInstanceCapacity: ...`), or undefined when the text names no error code this provider singles out.
 */
export function awsErrorFromText(text: string): ProviderError | undefined {
  const code = CODE_IN_TEXT.exec(text)?.[1];
  return code === undefined ? undefined : ofKind(byCode(code), text.trim(), { cloudCode: code });
}
