/** Base class of every failure to provide the Pulumi engine; callers can `instanceof` each subclass. */
export class ToolchainError extends Error {
  override name = 'ToolchainError';
}

/**
 * No Pulumi CLI of the pinned version is installed and none can be obtained on this machine:
 * not on PATH, no internet for the official install, and no Go toolchain to build it.
 * `message` is a sentence telling the user what to do.
 */
export class EngineUnavailableError extends ToolchainError {
  override name = 'EngineUnavailableError';
}

/** Building the engine from the Go module proxy failed; `log` holds the tail of the build output. */
export class EngineBuildError extends ToolchainError {
  override name = 'EngineBuildError';
  readonly log: string;

  constructor(message: string, log: string) {
    super(message);
    this.log = log;
  }
}
