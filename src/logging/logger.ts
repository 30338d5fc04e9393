// The one way the product writes log lines: pino, one JSON object a line on stderr, `time` in ISO 8601, `level` as
// a word, secrets removed twice over (pino's `redact` blanks credential-named fields; every string of every line
// is then scrubbed by a SecretScrubber, which knows the process's secret values and credential shapes).
import { pino, type Logger } from 'pino';
import { REDACTED, SecretScrubber } from './scrubber.ts';

/** A pino logger, as createLogger makes it. */
export type { Logger } from 'pino';

/** Fields whose value is a credential whatever it holds, at the top of a line or one level down. */
const CREDENTIAL_FIELDS = ['token', 'password', 'passphrase', 'secret', 'authorization', 'databaseUrl', 'jobStoreUrl', 'backendUrl', 'httpToken'];
const REDACT_PATHS = [...CREDENTIAL_FIELDS, ...CREDENTIAL_FIELDS.map((field) => `*.${field}`), 'headers.authorization', '*.headers.authorization', 'headers.cookie', '*.headers.cookie'];

/** How to create a logger. */
export interface LoggerOptions {
  /** The `name` field of every line (default `dynamic-servers`). */
  name?: string;
  /** Lowest level written (default `info`); `silent` writes nothing. */
  level?: pino.LevelWithSilent;
  /** Removes secrets from every line (default: one that knows the secrets of process.env). */
  scrubber?: SecretScrubber;
  /** Where lines go (default: stderr, written synchronously so a line logged just before exit is not lost). */
  destination?: pino.DestinationStream;
}

/** The line `line` (pino's JSON text) with every string in it scrubbed; still one JSON object and a newline. */
function scrubLine(scrubber: SecretScrubber, line: string): string {
  try {
    return `${JSON.stringify(scrubber.scrubValue(JSON.parse(line) as unknown))}\n`;
  } catch {
    return scrubber.scrub(line);
  }
}

/**
 * A pino logger writing one JSON object a line: `level` (`info`, `error`, ...), `time` (ISO 8601), `pid`,
 * `hostname`, `name`, the fields logged (the worker's lines carry an `event` field) and `msg`. Errors logged under
 * `err` are serialized with type, message and stack. Credential-named fields (`token`, `password`,
 * `authorization`, `databaseUrl`, ...) are replaced by `[redacted]`, and every string of the line is scrubbed by
 * `options.scrubber` before it is written.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const scrubber = options.scrubber ?? SecretScrubber.fromEnvironment();
  return pino(
    {
      name: options.name ?? 'dynamic-servers',
      level: options.level ?? 'info',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: (line) => scrubLine(scrubber, line) },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}
