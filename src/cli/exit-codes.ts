// The exit codes of `dynamic-servers` and how a thrown error becomes one, with the message the user sees.
import { CommanderError } from 'commander';
import { StackEngineError } from '../engine/errors.ts';
import { JobWorkerConfigError } from '../jobs/errors.ts';
import { LocalCloudConfigError } from '../local-cloud/errors.ts';
import { OperationsConfigError } from '../operations/errors.ts';
import { DynamicServersError, InvalidInputError, UnknownPriceError } from '../records/errors.ts';
import { RuntimeConfigurationError } from '../runtime.ts';
import { StackConfigError, formatProblem } from '../config/errors.ts';
import { ToolchainError } from '../toolchain/errors.ts';

/**
 * Exit codes scripts can rely on: `ok` 0 (done), `failure` 1 (the command ran and failed, or found problems),
 * `usage` 2 (bad arguments or input: nothing was changed), `unavailable` 3 (a required component or setting is
 * missing: Pulumi CLI, DATABASE_URL, ...).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, unavailable: 3 } as const;

/** One of the EXIT codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The environment variable that, when set to anything non-empty, adds the stack trace of unexpected errors. */
export const DEBUG_ENV = 'DYNAMIC_SERVERS_DEBUG';

/**
 * How a command that threw ends: its exit code, a one-line `message` for stderr (null when commander has
 * already printed its own usage message), and `details`, further lines (a stack file's problems, a stack trace).
 */
export interface CommandFailure {
  exitCode: ExitCode;
  message: string | null;
  details: string[];
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

/** The lines of `text` after its first, when debugging (a failed `pulumi up` explains itself over many lines). */
function restOfMessage(text: string, env: NodeJS.ProcessEnv): string[] {
  return env[DEBUG_ENV] ? text.split('\n').slice(1) : [];
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/**
 * Maps anything a command threw to its CommandFailure, by class: usage errors of commander and invalid input
 * (InvalidInputError and its subclasses, JobWorkerConfigError, LocalCloudConfigError, OperationsConfigError) exit 2; invalid stack files
 * (StackConfigError) exit 1 with one `file:line: key: problem` detail line each, as `validate` documents;
 * ToolchainError, RuntimeConfigurationError and UnknownPriceError (a budget without a price) exit 3; other DynamicServersError, StackEngineError and unknown
 * errors exit 1 with the first line of their message. Only when `env` has DEBUG_ENV do `details` carry the rest of
 * a DynamicServersError's or StackEngineError's message, and an unknown error's stack.
 */
export function describeFailure(error: unknown, env: NodeJS.ProcessEnv = process.env): CommandFailure {
  if (error instanceof CommanderError) {
    // Help and --version end with 0; anything else is a usage error commander has already printed.
    return { exitCode: error.exitCode === 0 ? EXIT.ok : EXIT.usage, message: null, details: [] };
  }
  if (error instanceof InvalidInputError || error instanceof JobWorkerConfigError || error instanceof LocalCloudConfigError || error instanceof OperationsConfigError) {
    return { exitCode: EXIT.usage, message: firstLine(error.message), details: [] };
  }
  if (error instanceof StackConfigError) {
    return { exitCode: EXIT.failure, message: `${plural(error.problems.length, 'problem')} in the stack configuration:`, details: error.problems.map(formatProblem) };
  }
  if (error instanceof ToolchainError || error instanceof RuntimeConfigurationError || error instanceof UnknownPriceError) {
    return { exitCode: EXIT.unavailable, message: firstLine(error.message), details: [] };
  }
  if (error instanceof DynamicServersError || error instanceof StackEngineError) {
    return { exitCode: EXIT.failure, message: firstLine(error.message), details: restOfMessage(error.message, env) };
  }
  const message = error instanceof Error ? error.message : String(error);
  const stack = env[DEBUG_ENV] && error instanceof Error && error.stack ? error.stack.split('\n') : [];
  return { exitCode: EXIT.failure, message: firstLine(message) || (error instanceof Error ? error.name : String(error)), details: stack };
}

/** The text to write on stderr for `failure`: `dynamic-servers: <message>` and its detail lines, or '' when none. */
export function formatFailure(failure: CommandFailure): string {
  const lines = [...(failure.message === null ? [] : [`dynamic-servers: ${failure.message}`]), ...failure.details];
  return lines.map((line) => `${line}\n`).join('');
}
