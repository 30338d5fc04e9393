// The reviewed file of limits shared by all server types of one provider: `stacks/providers.yaml`. It sits beside
// the stack files (Pulumi reads only `Pulumi.<stack>.yaml` there) and is published with them.
import { isMap, isScalar, parseDocument } from 'yaml';
import { z } from 'zod';
import { providerNameSchema } from '../records/input.ts';
import { StackConfigError, type StackConfigProblem } from './errors.ts';
import type { ProviderCatalog } from './provider-catalog.ts';
import { parseYamlFile } from './stack-file.ts';

/** The file name of the provider limits, in the stack config directory. */
export const PROVIDER_LIMITS_FILE = 'providers.yaml';

/** Limits of one provider, all its server types together. */
export interface ProviderLimits {
  /** At most this many provisioned servers on the provider; undefined means no limit. */
  maxServers?: number;
  /** At most this much money per hour for the provider's provisioned servers, all types together; undefined means no budget. */
  budgetPerHour?: number;
}

const limitsSchema = z.strictObject({
  maxServers: z.number().int().min(0).max(1_000_000).optional(),
  budgetPerHour: z.number().positive().max(10_000_000).optional(),
});

/** The provider names `stacks/providers.yaml` lists (empty when it lists none or is not YAML). */
export function providersNamedIn(text: string): string[] {
  const providers = parseDocument(text).get('providers', true);
  return isMap(providers) ? providers.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : String(pair.key))) : [];
}

/**
 * Parses and validates `stacks/providers.yaml` (`providers: { <name>: { maxServers: N, budgetPerHour: M } }`). Returns the limits by
 * provider name, or throws StackConfigError listing every problem with its line. With a `catalog`, an unknown
 * provider name is a problem too.
 */
export function parseProviderLimitsFile(file: string, text: string, catalog?: ProviderCatalog): Record<string, ProviderLimits> {
  const { document, lineOf } = parseYamlFile(file, text);
  const problems: StackConfigProblem[] = [];
  const providers = document.get('providers', true);
  if (document.contents !== null && !isMap(providers)) {
    throw new StackConfigError([{ file, key: 'providers', line: lineOf(['providers']), problem: 'must be a mapping of provider names to their limits' }]);
  }
  const limits: Record<string, ProviderLimits> = {};
  for (const pair of isMap(providers) ? providers.items : []) {
    const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const key = `providers.${name}`;
    const line = lineOf(['providers', name]);
    if (!providerNameSchema.safeParse(name).success) {
      problems.push({ file, key, line, problem: 'is not a provider name (a built-in provider or the npm name of a provider package)' });
      continue;
    }
    const providerProblem = catalog?.providerProblem(name);
    if (providerProblem !== undefined) {
      problems.push({ file, key, line, problem: providerProblem });
      continue;
    }
    const parsed = limitsSchema.safeParse((pair.value as { toJSON?(): unknown } | null)?.toJSON?.() ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const path = (issue?.path ?? []).map(String);
      const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const at = unknownKey === undefined ? path : [...path, unknownKey];
      problems.push({ file, key: [key, ...at].join('.'), line: lineOf(['providers', name, ...at]) ?? line, problem: issue?.message ?? 'invalid' });
      continue;
    }
    limits[name] = {
      ...(parsed.data.maxServers === undefined ? {} : { maxServers: parsed.data.maxServers }),
      ...(parsed.data.budgetPerHour === undefined ? {} : { budgetPerHour: parsed.data.budgetPerHour }),
    };
  }
  if (problems.length > 0) throw new StackConfigError(problems);
  return limits;
}
