// Error answers of the local cloud's API, as the Hetzner Cloud API sends them: the HTTP status that goes with each
// documented error code, and the body `{ error: { code, message, details } }`.

/**
 * The HTTP status of each error code, as the Hetzner Cloud API reference's error table gives them (and three more:
 * `placement_error` and `bad_gateway`, which Hetzner's own clients know, and `route_not_found`, see below).
 */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  json_error: 400,
  unauthorized: 401,
  token_readonly: 401,
  forbidden: 403,
  maintenance: 403,
  resource_limit_exceeded: 403,
  not_found: 404,
  // Not Hetzner's: the local cloud answers unknown routes with it, because `not_found` says that an entity does not
  // exist, and a client pointed at a wrong base URL must not read that as proof of deletion.
  route_not_found: 404,
  method_not_allowed: 405,
  uniqueness_error: 409,
  conflict: 409,
  deprecated_api_endpoint: 410,
  resource_unavailable: 412,
  placement_error: 412,
  invalid_input: 422,
  service_error: 422,
  unsupported_error: 422,
  locked: 423,
  protected: 423,
  rate_limit_exceeded: 429,
  server_error: 500,
  bad_gateway: 502,
  unavailable: 503,
  timeout: 504,
};

/** An error answer of the API: HTTP `status`, and the body `{ error: { code, message, details } }`. */
export class CloudApiError extends Error {
  override name = 'CloudApiError';
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  /**
   * An error with a documented `code` takes that code's status from ERROR_STATUS; any other code needs `status`
   * (injected faults may use codes of their own). Throws a plain Error for an unknown code without a status.
   */
  constructor(code: string, message: string, details: Record<string, unknown> = {}, status?: number) {
    super(message);
    const resolved = status ?? ERROR_STATUS[code];
    if (resolved === undefined) throw new Error(`error code '${code}' has no documented HTTP status: give one`);
    this.status = resolved;
    this.code = code;
    this.details = details;
  }

  /** The JSON body the API sends for this error. */
  body(): { error: { code: string; message: string; details: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** One field of an `invalid_input` answer and what was wrong with it. */
export interface FieldProblem {
  name: string;
  messages: string[];
}

/** 422 `invalid_input`, with Hetzner's `details.fields` listing what was wrong with which field. */
export function invalidInput(message: string, fields: FieldProblem[] = []): CloudApiError {
  return new CloudApiError('invalid_input', message, { fields });
}

/** 422 `invalid_input` about the one field `name`. */
export function invalidField(name: string, problem: string): CloudApiError {
  return invalidInput(`invalid input in field '${name}'`, [{ name, messages: [problem] }]);
}

/** 404 `not_found` for an entity that does not exist (the API's only "it is gone" answer). */
export function notFound(what: string): CloudApiError {
  return new CloudApiError('not_found', `${what} not found`);
}

/** The local cloud was started or reconfigured with settings it cannot run with. */
export class LocalCloudConfigError extends Error {
  override name = 'LocalCloudConfigError';
}
