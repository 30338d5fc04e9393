// One reviewed stack file, `stacks/Pulumi.<type>.yaml`: the only place a server type is configured. Pulumi itself
// rewrites these files (`pulumi stack init`, `pulumi config set`) and then stores every top-level value as a
// string (`maxServers: "10"`), so each key is read by what it means, not by how YAML typed it.
import { basename } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { FAILURE_POLICIES, type DrainSettings, type FailurePolicy } from '../records/config.ts';
import { NAME_PATTERN, nameSchema, providerNameSchema } from '../records/input.ts';
import { jsonObjectSchema, type JsonObject } from '../records/json.ts';
import { DEFAULT_TYPE_SETTINGS } from '../records/registry.ts';
import { DEFAULT_REPLACE_BUDGET, ROLLOUT_OFF, type CountOrPercent, type RolloutPolicy } from '../records/rollout-policy.ts';
import { secretLookingKeys } from '../records/template.ts';
import { StackConfigError, type StackConfigProblem } from './errors.ts';
import type { ProviderCatalog } from './provider-catalog.ts';

/** Config namespace of this project's own keys (the project name in Pulumi.yaml). */
export const NAMESPACE = 'dynamic-servers';

/** Seconds a server may spend in each slow step before it is marked hanging. */
export interface ServerTypeTimeouts {
  /** Waiting in `new` for `pulumi up` to create it. */
  newSeconds: number;
  bootSeconds: number;
  stopSeconds: number;
  deleteSeconds: number;
}

/** A server type as its reviewed stack file defines it. Secret values stay encrypted (`secure:`) and are not here. */
export interface ServerTypeConfig {
  /** The type's name, from the file name `Pulumi.<type>.yaml`; also the Pulumi stack name. */
  type: string;
  file: string;
  /** Name of the provider its servers run on: a built-in one (`local`, `hcloud`, `aws`) or a provider package's npm name. */
  provider: string;
  /** The snapshot template new servers of this type are created from; the provider checks its fields. */
  template: JsonObject;
  /** At most this many provisioned servers of the type; undefined means no per-type limit. */
  maxServers?: number;
  /** Seconds a server may spend waiting to be created, booting, stopping or being deleted before it is marked hanging. */
  timeouts: ServerTypeTimeouts;
  /** What becomes of its servers that hang: deleted from the cloud (default) or kept there for a person to look at. */
  hangingServers: FailurePolicy;
  /** What becomes of its servers that error while the cloud has them: deleted (default) or kept. */
  erroredServers: FailurePolicy;
  /**
   * The template's offerings in order of preference, by name (`small@local-1`), as its provider names them; empty
   * when the file was read without the providers (no catalog).
   */
  offerings: string[];
  /** Hourly prices of offerings, by offering name, given in the file (they win over the cloud's price list). */
  prices: Record<string, number>;
  /** At most this much money per hour for the type's provisioned servers together; undefined means no budget. */
  budgetPerHour?: number;
  /** Seconds an offering the cloud refused for capacity is skipped by every worker (default 180). */
  unavailableOfferingSeconds: number;
  /** How its servers move to a newly published template: off (default) or replace. */
  rollout: RolloutPolicy;
  /** Its drain hook module (relative to the project root), a drain's deadline and the cap on extending it. */
  drain: DrainSettings;
  /** What becomes of a server whose drain passed its deadline or whose hook threw: deleted (default) or kept. */
  undrainedServers: FailurePolicy;
  /** Config keys (any namespace) whose values are `secure:` secrets. */
  secretKeys: string[];
}

/** Key names that hold credentials: their values must be `secure:`, never plain text. */
const SECRET_LOOKING_KEY = /(token|secret|password|passphrase|private.?key|access.?key|credential)/i;

/**
 * A whole number, also when Pulumi stored it as a string: `"10"` reads as 10, `"ten"` or `""` stays a string and
 * fails the number check, so nothing but digits ever becomes a number.
 */
function wholeNumber(min: number, max: number) {
  return z.preprocess((value) => (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value), z.number().int().min(min).max(max));
}

/** An amount of money, also when Pulumi stored it as a string (`"0.25"`); at most `max`. */
export function money(max: number) {
  return z.preprocess((value) => (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value), z.number().min(0).max(max));
}

const seconds = wholeNumber(1, 86_400);

/** A count of servers (`1`, `"1"`) or a percentage of the desired count (`"25%"`, 0 to 100). */
const countOrPercent = z.preprocess(
  (value) => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : typeof value === 'string' ? value.trim() : value),
  z.union([
    z.number().int().min(0).max(10_000),
    z
      .string()
      .regex(/^\d{1,3}%$/)
      .refine((value) => Number(value.slice(0, -1)) <= 100)
      .transform((value) => value as `${number}%`),
  ], { error: 'must be a whole number of servers or a percentage such as "25%"' }),
);

/** True for a count or percentage of nothing (`0`, `"0%"`). */
function isZero(value: CountOrPercent): boolean {
  return value === 0 || value === '0%';
}

/** `off`, `replace`, or `{ maxSurge, maxUnavailable }` (each a count or a percentage; replace, 1 and 0 by default). */
const rolloutSchema = z.union(
  [
    z.literal('off').transform((): RolloutPolicy => ROLLOUT_OFF),
    z.literal('replace').transform((): RolloutPolicy => ({ strategy: 'replace', ...DEFAULT_REPLACE_BUDGET })),
    z
      .strictObject({
        strategy: z.literal('replace').optional(),
        maxSurge: countOrPercent.optional(),
        maxUnavailable: countOrPercent.optional(),
      })
      .transform(
        (value): RolloutPolicy => ({
          strategy: 'replace',
          maxSurge: (value.maxSurge as CountOrPercent | undefined) ?? DEFAULT_REPLACE_BUDGET.maxSurge,
          maxUnavailable: (value.maxUnavailable as CountOrPercent | undefined) ?? DEFAULT_REPLACE_BUDGET.maxUnavailable,
        }),
      )
      .refine((policy) => !('maxSurge' in policy && isZero(policy.maxSurge) && isZero(policy.maxUnavailable)), {
        error: 'maxSurge and maxUnavailable cannot both be 0: nothing could be replaced',
      }),
  ],
  { error: 'must be off, replace, or a mapping with maxSurge and maxUnavailable (counts or percentages)' },
);

/** A module path relative to the project root: no absolute path, no way out of the project. */
const modulePath = z
  .string()
  .trim()
  .regex(/^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$)).+\.(?:ts|mts|js|mjs)$/, 'must be a .ts, .mts, .js or .mjs file inside the project, relative to its root (e.g. drain.ts)');

const ownKeys = {
  provider: providerNameSchema,
  template: jsonObjectSchema,
  maxServers: wholeNumber(0, 10_000),
  newTimeoutSeconds: seconds,
  bootTimeoutSeconds: seconds,
  stopTimeoutSeconds: seconds,
  deleteTimeoutSeconds: seconds,
  hangingServers: z.enum(FAILURE_POLICIES, { error: `must be ${FAILURE_POLICIES.join(' or ')}` }),
  erroredServers: z.enum(FAILURE_POLICIES, { error: `must be ${FAILURE_POLICIES.join(' or ')}` }),
  budgetPerHour: money(1_000_000).refine((amount) => amount > 0, 'must be more than 0'),
  prices: z.record(z.string().min(1), money(100_000)),
  unavailableOfferingSeconds: seconds,
  rollout: rolloutSchema,
  drainHook: modulePath,
  drainTimeoutSeconds: seconds,
  maxDrainSeconds: seconds,
  undrainedServers: z.enum(FAILURE_POLICIES, { error: `must be ${FAILURE_POLICIES.join(' or ')}` }),
} as const;
type OwnKey = keyof typeof ownKeys;
const REQUIRED: readonly OwnKey[] = ['provider', 'template'];

/** The 1-based line of the key `path` names (the key's own line, also when its value is a block below it). */
function lineOf(document: Document, lines: LineCounter, path: string[]): number | undefined {
  const parent = path.length === 1 ? document.contents : document.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => (isScalar(item.key) ? String(item.key.value) : String(item.key)) === path.at(-1));
  const offset = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/** Parses YAML text, or throws StackConfigError with the first syntax problems and their lines. */
export function parseYamlFile(file: string, text: string): { document: Document; lines: LineCounter; lineOf: (path: string[]) => number | undefined } {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length > 0) {
    throw new StackConfigError(document.errors.map((error) => ({ file, key: '(file)', problem: `not valid YAML: ${error.message.split('\n')[0]}`, line: lines.linePos(error.pos[0]).line })));
  }
  return { document, lines, lineOf: (path) => lineOf(document, lines, path) };
}

/** The server type a stack file's name declares (`Pulumi.<type>.yaml`), or undefined when the name has another shape. */
export function serverTypeOfFile(file: string): string | undefined {
  return /^Pulumi\.(.+)\.yaml$/.exec(basename(file))?.[1];
}

/**
 * The provider a stack file's text names (`dynamic-servers:provider`), or undefined when it names none or is not
 * YAML: what a catalog must know before the file is checked (see ProviderCatalogLoader).
 */
export function providerNamedIn(text: string): string | undefined {
  const value = parseDocument(text).getIn(['config', `${NAMESPACE}:provider`]);
  return typeof value === 'string' ? value : undefined;
}

/**
 * Parses and validates the text of `stacks/Pulumi.<type>.yaml`. Returns the server type, or throws
 * StackConfigError listing every problem with its file, key and line: a missing or unknown `dynamic-servers:`
 * key, a value of the wrong shape, a credential-looking key in plain text, a template key that looks like a
 * secret. With a `catalog`, also a provider it cannot give (unknown, or a package not installed) and a template the
 * provider rejects.
 */
export function parseStackFile(file: string, text: string, catalog?: ProviderCatalog): ServerTypeConfig {
  const type = serverTypeOfFile(file) ?? '';
  if (!nameSchema.safeParse(type).success) {
    throw new StackConfigError([
      { file, key: '(file)', problem: `the file name must be Pulumi.<type>.yaml with a type of at most 40 lowercase letters, digits and single dashes, starting with a letter (${NAME_PATTERN})` },
    ]);
  }
  const { document, lines } = parseYamlFile(file, text);
  const config = document.get('config', true);
  if (!isMap(config)) throw new StackConfigError([{ file, key: 'config', problem: 'must be a mapping of config keys' }]);

  const problems: StackConfigProblem[] = [];
  const own: Partial<Record<OwnKey, unknown>> = {};
  const secretKeys: string[] = [];
  for (const pair of config.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const line = lineOf(document, lines, ['config', key]);
    const value: unknown = isScalar(pair.value) ? pair.value.value : (pair.value as { toJSON(): unknown } | null)?.toJSON();
    const isSecure = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && 'secure' in value;
    if (isSecure) {
      secretKeys.push(key);
      continue;
    }
    if (SECRET_LOOKING_KEY.test(key.split(':')[1] ?? key)) {
      problems.push({ file, key, line, problem: 'looks like a credential and must be a secret: set it with `pulumi config set --secret` so the file holds only a `secure:` value' });
      continue;
    }
    const [namespace, name = ''] = key.split(':');
    if (namespace !== NAMESPACE) continue; // provider settings such as hcloud:endpoint belong to the provider
    if (!(name in ownKeys)) {
      problems.push({ file, key, line, problem: `unknown key; expected one of ${Object.keys(ownKeys).map((k) => `${NAMESPACE}:${k}`).join(', ')}` });
      continue;
    }
    const parsed = ownKeys[name as OwnKey].safeParse(value);
    if (!parsed.success) {
      problems.push({ file, key, line, problem: `${parsed.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(value)})` });
      continue;
    }
    own[name as OwnKey] = parsed.data;
  }
  for (const name of REQUIRED) {
    if (own[name] === undefined && !problems.some((problem) => problem.key === `${NAMESPACE}:${name}`)) {
      problems.push({ file, key: `${NAMESPACE}:${name}`, problem: 'is required' });
    }
  }
  const templateKey = `${NAMESPACE}:template`;
  const templateLine = lineOf(document, lines, ['config', templateKey]);
  if (own.template !== undefined) {
    const secrets = secretLookingKeys(own.template as JsonObject);
    if (secrets.length > 0) {
      problems.push({ file, key: templateKey, line: templateLine, problem: `has keys that look like secrets (${secrets.join(', ')}); templates are copied onto server rows, so keep secrets in secure provider config` });
    }
  }
  let offerings: string[] = [];
  if (catalog && own.provider !== undefined) {
    const providerKey = `${NAMESPACE}:provider`;
    const provider = own.provider as string;
    const providerProblem = catalog.providerProblem(provider);
    if (providerProblem !== undefined) {
      problems.push({ file, key: providerKey, line: lineOf(document, lines, ['config', providerKey]), problem: providerProblem });
    } else if (own.template !== undefined) {
      const rejection = catalog.templateProblem(provider, own.template as JsonObject);
      if (rejection !== undefined) {
        problems.push({ file, key: templateKey, line: templateLine, problem: `provider ${provider} rejects it: ${rejection.replace(/\s*\n\s*/g, '; ')}` });
      } else {
        offerings = catalog.offerings(provider, own.template as JsonObject);
        problems.push(...priceProblems(file, provider, offerings, own, catalog, (key) => lineOf(document, lines, ['config', key])));
      }
    }
  }
  const drain: DrainSettings = {
    hook: (own.drainHook as string | undefined) ?? DEFAULT_TYPE_SETTINGS.drain.hook,
    timeoutSeconds: (own.drainTimeoutSeconds as number | undefined) ?? DEFAULT_TYPE_SETTINGS.drain.timeoutSeconds,
    maxSeconds: (own.maxDrainSeconds as number | undefined) ?? DEFAULT_TYPE_SETTINGS.drain.maxSeconds,
  };
  if (drain.maxSeconds < drain.timeoutSeconds && own.drainTimeoutSeconds !== undefined) {
    const key = `${NAMESPACE}:drainTimeoutSeconds`;
    problems.push({ file, key, line: lineOf(document, lines, ['config', key]), problem: `must not exceed maxDrainSeconds (${drain.maxSeconds})` });
  } else if (drain.maxSeconds < drain.timeoutSeconds) {
    const key = `${NAMESPACE}:maxDrainSeconds`;
    problems.push({ file, key, line: lineOf(document, lines, ['config', key]), problem: `must be at least drainTimeoutSeconds (${drain.timeoutSeconds})` });
  }
  if (problems.length > 0) throw new StackConfigError(problems);

  return {
    type,
    file,
    provider: own.provider as string,
    template: own.template as JsonObject,
    ...(own.maxServers === undefined ? {} : { maxServers: own.maxServers as number }),
    timeouts: {
      newSeconds: (own.newTimeoutSeconds as number | undefined) ?? DEFAULT_TYPE_SETTINGS.timeouts.newSeconds,
      bootSeconds: (own.bootTimeoutSeconds as number | undefined) ?? DEFAULT_TYPE_SETTINGS.timeouts.bootSeconds,
      stopSeconds: (own.stopTimeoutSeconds as number | undefined) ?? DEFAULT_TYPE_SETTINGS.timeouts.stopSeconds,
      deleteSeconds: (own.deleteTimeoutSeconds as number | undefined) ?? DEFAULT_TYPE_SETTINGS.timeouts.deleteSeconds,
    },
    hangingServers: (own.hangingServers as FailurePolicy | undefined) ?? DEFAULT_TYPE_SETTINGS.hangingServers,
    erroredServers: (own.erroredServers as FailurePolicy | undefined) ?? DEFAULT_TYPE_SETTINGS.erroredServers,
    offerings,
    prices: (own.prices as Record<string, number> | undefined) ?? {},
    ...(own.budgetPerHour === undefined ? {} : { budgetPerHour: own.budgetPerHour as number }),
    unavailableOfferingSeconds: (own.unavailableOfferingSeconds as number | undefined) ?? DEFAULT_TYPE_SETTINGS.unavailableOfferingSeconds,
    rollout: (own.rollout as RolloutPolicy | undefined) ?? DEFAULT_TYPE_SETTINGS.rollout,
    drain,
    undrainedServers: (own.undrainedServers as FailurePolicy | undefined) ?? DEFAULT_TYPE_SETTINGS.undrainedServers,
    secretKeys,
  };
}

/**
 * The problems of a file's prices against its template's `offerings`: a price of an offering the template does not
 * have; for a budget on a provider that publishes no prices, an offering without a price; and a budget on a provider
 * that names no offerings (a provider package without `offerings`), whose servers can have no price.
 */
function priceProblems(
  file: string,
  provider: string,
  offerings: readonly string[],
  own: Partial<Record<OwnKey, unknown>>,
  catalog: ProviderCatalog,
  lineOf: (key: string) => number | undefined,
): StackConfigProblem[] {
  const problems: StackConfigProblem[] = [];
  const pricesKey = `${NAMESPACE}:prices`;
  const budgetKey = `${NAMESPACE}:budgetPerHour`;
  const prices = (own.prices as Record<string, number> | undefined) ?? {};
  const named = offerings.length === 0 ? `provider ${provider} names no offerings` : `its offerings are ${offerings.join(', ')}`;
  for (const offering of Object.keys(prices).filter((name) => !offerings.includes(name))) {
    problems.push({ file, key: `${pricesKey}.${offering}`, line: lineOf(pricesKey), problem: `is not an offering of the template; ${named}` });
  }
  if (own.budgetPerHour === undefined) return problems;
  const unpriced = offerings.filter((offering) => prices[offering] === undefined);
  if (offerings.length === 0) {
    problems.push({ file, key: budgetKey, line: lineOf(budgetKey), problem: `${named}, so its servers have no price to count against a budget` });
  } else if (!catalog.publishesPrices(provider) && unpriced.length > 0) {
    problems.push({ file, key: budgetKey, line: lineOf(budgetKey), problem: `provider ${provider} publishes no prices: give ${pricesKey} for ${unpriced.join(', ')}` });
  }
  return problems;
}
