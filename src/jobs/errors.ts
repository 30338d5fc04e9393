/** A job-store URL names no supported backend (PostgreSQL `postgres://`, MongoDB `mongodb://`). */
export class UnsupportedJobStoreError extends Error {
  override name = 'UnsupportedJobStoreError';
}

/** The worker was given settings it cannot run with (a bad interval, an unknown server type, ...). */
export class JobWorkerConfigError extends Error {
  override name = 'JobWorkerConfigError';
}

/** A monitor module cannot be loaded, or does not export a `determineServerCount` function. */
export class MonitorModuleError extends JobWorkerConfigError {
  override name = 'MonitorModuleError';
}
