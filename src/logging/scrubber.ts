// Removes secrets from text before it is logged or shown: the secret values a process knows (its environment's
// tokens, passphrases and database passwords, the decrypted secrets of its stacks) and anything shaped like a
// credential (a URL's password, a bearer token, `token: ...`, `password=...`).

/** What a removed secret is replaced with. */
export const REDACTED = '[redacted]';

/** Shorter values are not treated as secrets by value (they would blank out ordinary words); patterns still apply. */
const MIN_SECRET_LENGTH = 4;

/** Names of environment variables whose whole value is a secret. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|PRIVATE_?KEY|CREDENTIAL/i;

/** `scheme://user:password@`: keeps the user, removes the password. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):([^\s@/]+)@/gi;
/** An HTTP authorization value. */
const AUTHORIZATION_VALUE = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi;
const SECRET_KEY = String.raw`(?:token|password|passwd|passphrase|secret|api[_-]?key|access[_-]?key|authorization)`;
const VALUE = String.raw`[^\s"',;&}\]\\]`;
/** `token=x`, `password = "x"`, `api_key=x`: any value after `=`. */
const ASSIGNED_VALUE = new RegExp(String.raw`(${SECRET_KEY}["']?\s*=\s*["']?)(?!\[redacted\])(${VALUE}+)`, 'gi');
/** `"token":"x"`, `password='x y'`: any quoted value after `:` or `=`. */
const QUOTED_VALUE = new RegExp(String.raw`(${SECRET_KEY}["']?\s*[:=]\s*(["']))(?!\[redacted\])([^"'\\]+)(?=\2)`, 'gi');
/** `hcloud:token: x`, `password: x` unquoted: a value of 6 or more characters with a digit (so prose like `token: set` stays). */
const COLON_VALUE = new RegExp(String.raw`(${SECRET_KEY}\s*:\s*)(?!\[redacted\])(?=${VALUE}*\d)(${VALUE}{6,})`, 'gi');

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The password of a URL-shaped value (raw and decoded), or nothing. */
function urlPasswords(value: string): string[] {
  try {
    const url = new URL(value);
    if (!url.password) return [];
    return [...new Set([url.password, decodeURIComponent(url.password)])];
  } catch {
    return [];
  }
}

/**
 * Scrubs secrets out of strings and JSON-like values. Knows secret values (added with `add`, or read from an
 * environment by `fromEnvironment`) and credential-shaped patterns; `scrub` replaces both with REDACTED.
 */
export class SecretScrubber {
  readonly #secrets = new Set<string>();
  #byValue: RegExp | null = null;

  /**
   * A scrubber that knows the secrets of `env`: the whole value of every variable named like a secret
   * (`*TOKEN*`, `*PASSWORD*`, `*PASSPHRASE*`, `*SECRET*`, ...) and the password of every URL-valued variable
   * (DATABASE_URL, DYNAMIC_SERVERS_JOBS_URL, PULUMI_BACKEND_URL, ...).
   */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): SecretScrubber {
    const scrubber = new SecretScrubber();
    for (const [name, value] of Object.entries(env)) {
      if (!value) continue;
      if (SECRET_NAME.test(name)) scrubber.add(value);
      scrubber.add(...urlPasswords(value));
    }
    return scrubber;
  }

  /** Remembers secret values (values shorter than 4 characters are ignored: patterns still catch them). */
  add(...values: readonly string[]): void {
    let changed = false;
    for (const value of values) {
      if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || this.#secrets.has(value)) continue;
      this.#secrets.add(value);
      changed = true;
    }
    if (changed) {
      const longestFirst = [...this.#secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.#byValue = new RegExp(longestFirst.join('|'), 'g');
    }
  }

  /** `text` with every known secret and credential-shaped value replaced by REDACTED. */
  scrub(text: string): string {
    let scrubbed = this.#byValue ? text.replace(this.#byValue, REDACTED) : text;
    scrubbed = scrubbed.replace(URL_PASSWORD, `$1$2:${REDACTED}@`);
    scrubbed = scrubbed.replace(AUTHORIZATION_VALUE, `$1 ${REDACTED}`);
    scrubbed = scrubbed.replace(QUOTED_VALUE, `$1${REDACTED}`);
    scrubbed = scrubbed.replace(ASSIGNED_VALUE, `$1${REDACTED}`);
    return scrubbed.replace(COLON_VALUE, `$1${REDACTED}`);
  }

  /** A copy of `value` with every string in it (keys kept, values of nested objects and arrays too) scrubbed. */
  scrubValue<T>(value: T): T {
    return this.#scrubValue(value, new WeakSet()) as T;
  }

  #scrubValue(value: unknown, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((item) => this.#scrubValue(item, seen));
    if (value instanceof Date) return value;
    if (value instanceof Error) return { type: value.name, message: this.scrub(value.message), stack: this.scrub(value.stack ?? '') };
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.#scrubValue(item, seen)]));
  }
}
