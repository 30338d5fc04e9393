// Error answers as the Hetzner Cloud API documents them: `{ error: { code, message, details } }` with the HTTP
// status each code goes with.

/** The HTTP status of each documented error code. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  invalid_input: 400,
  json_error: 400,
  unauthorized: 401,
  forbidden: 403,
  resource_limit_exceeded: 403,
  token_readonly: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  uniqueness_error: 409,
  placement_error: 412,
  unsupported_error: 422,
  locked: 423,
  protected: 423,
  rate_limit_exceeded: 429,
  server_error: 500,
  resource_unavailable: 503,
  service_error: 503,
  maintenance: 503,
  unavailable: 503,
};

/** An error answer: thrown by route handlers, written by the server. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;

  /** `code` must be one of ERROR_STATUS (its status is looked up there). */
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    const status = ERROR_STATUS[code];
    if (status === undefined) throw new Error(`undocumented error code ${code}`);
    this.code = code;
    this.status = status;
    this.details = details;
  }

  /** The documented error body. */
  body(): { error: { code: string; message: string; details: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}
