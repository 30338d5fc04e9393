// The command line's log: pino lines on stderr when `--verbose` is given (every command), silent otherwise; the
// worker always logs (info, debug with --verbose). One scrubber per process knows the secrets it met.
import { createLogger, type Logger } from '../logging/logger.ts';
import { SecretScrubber } from '../logging/scrubber.ts';

let verbose = false;
let scrubber: SecretScrubber | undefined;
const loggers = new Map<string, Logger>();

/** Called once by main.ts from the global `--verbose` flag, before the command runs. */
export function setVerbose(on: boolean): void {
  verbose = on;
}

/** True when the command was started with `--verbose`. */
export function isVerbose(): boolean {
  return verbose;
}

/** This process's scrubber: the secrets of its environment, and whatever a command adds (stack secrets, tokens). */
export function cliScrubber(): SecretScrubber {
  scrubber ??= SecretScrubber.fromEnvironment();
  return scrubber;
}

/**
 * The process's logger. Level `debug` with --verbose; otherwise `minimum` (default `silent`: a command logs only
 * when asked; the worker passes `info`).
 */
export function cliLogger(minimum: 'silent' | 'info' = 'silent'): Logger {
  const level = verbose ? 'debug' : minimum;
  let logger = loggers.get(level);
  if (!logger) {
    logger = createLogger({ level, scrubber: cliScrubber() });
    loggers.set(level, logger);
  }
  return logger;
}
