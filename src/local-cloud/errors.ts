/**
 * An error answer of the local cloud's API, shaped like the Hetzner Cloud API's:
 * HTTP `status` and body `{ error: { code, message, details } }`.
 */
export class CloudApiError extends Error {
  override name = 'CloudApiError';
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The JSON body the API sends for this error. */
  body(): { error: { code: string; message: string; details: unknown } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** 400 `invalid_input`, with Hetzner's `details.fields` listing what was wrong with which field. */
export function invalidInput(message: string, fields: { name: string; messages: string[] }[] = []): CloudApiError {
  return new CloudApiError(400, 'invalid_input', message, { fields });
}

/** 404 `not_found` for an entity that does not exist (the API's only "it is gone" answer). */
export function notFound(what: string): CloudApiError {
  return new CloudApiError(404, 'not_found', `${what} not found`);
}

/** The local cloud was started or reconfigured with settings it cannot run with. */
export class LocalCloudConfigError extends Error {
  override name = 'LocalCloudConfigError';
}
