import { access, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StackConfigError, type StackConfigProblem } from './errors.ts';
import type { ProviderCatalog, ProviderCatalogLoader } from './provider-catalog.ts';
import { parseProviderLimitsFile, PROVIDER_LIMITS_FILE, providersNamedIn, type ProviderLimits } from './provider-limits-file.ts';
import { parseStackFile, providerNamedIn, type ServerTypeConfig } from './stack-file.ts';

/** Everything a deployment's reviewed files configure: its server types and the limits of its providers. */
export interface DeploymentConfig {
  /** One per `Pulumi.<type>.yaml`, sorted by type. */
  serverTypes: ServerTypeConfig[];
  /** From `providers.yaml` (empty when the file does not exist), by provider name. */
  providers: Record<string, ProviderLimits>;
}

/**
 * Reads every `Pulumi.<type>.yaml` and the optional `providers.yaml` in `stacksDir` (the `stackConfigDir` of
 * Pulumi.yaml). Throws one StackConfigError listing the problems of all files together, checked against the catalog
 * `catalog` gives for the providers the files name, when given (unknown providers, provider packages not installed,
 * rejected templates, limits of providers no file can name).
 */
export async function loadDeploymentConfig(stacksDir: string, catalog?: ProviderCatalogLoader): Promise<DeploymentConfig> {
  const entries = await readdir(stacksDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new StackConfigError([{ file: stacksDir, key: '(directory)', problem: 'does not exist: a deployment keeps its stack files in stacks/ beside Pulumi.yaml' }]);
    throw error;
  });
  const files = entries.filter((name) => /^Pulumi\..+\.yaml$/.test(name)).sort();
  const serverTypes: ServerTypeConfig[] = [];
  let providers: Record<string, ProviderLimits> = {};
  const problems: StackConfigProblem[] = [];
  const collect = (error: unknown) => {
    if (!(error instanceof StackConfigError)) throw error;
    problems.push(...error.problems);
  };
  const texts = new Map<string, string>();
  for (const name of files) texts.set(join(stacksDir, name), await readFile(join(stacksDir, name), 'utf8'));
  const limitsFile = join(stacksDir, PROVIDER_LIMITS_FILE);
  const limitsText = entries.includes(PROVIDER_LIMITS_FILE) ? await readFile(limitsFile, 'utf8') : undefined;
  const named = [...[...texts.values()].map(providerNamedIn), ...providersNamedIn(limitsText ?? '')].filter((name) => name !== undefined);
  const checked = catalog ? await catalog(named) : undefined;

  for (const [file, text] of texts) {
    try {
      const type = parseStackFile(file, text, checked);
      serverTypes.push(type);
      // The hook is the project's code: every process that works on the type loads it from the project root.
      const hook = type.drain.hook;
      if (hook !== null && !(await access(join(dirname(stacksDir), hook)).then(() => true, () => false))) {
        problems.push({ file, key: 'dynamic-servers:drainHook', problem: `no file ${hook} in the project (the path is relative to the directory of Pulumi.yaml)` });
      }
    } catch (error) {
      collect(error);
    }
  }
  if (limitsText !== undefined) {
    try {
      providers = parseProviderLimitsFile(limitsFile, limitsText, checked);
    } catch (error) {
      collect(error);
    }
  }
  if (checked) problems.push(...unpricedUnderProviderBudgets(serverTypes, providers, checked, limitsFile));
  if (problems.length > 0) throw new StackConfigError(problems);
  return { serverTypes, providers };
}

/**
 * A provider budget needs a price for every offering of every type on the provider: one problem per type whose
 * provider names no offerings (its servers have no price), or publishes no prices while its stack file leaves
 * offerings unpriced.
 */
function unpricedUnderProviderBudgets(serverTypes: readonly ServerTypeConfig[], providers: Record<string, ProviderLimits>, catalog: ProviderCatalog, file: string): StackConfigProblem[] {
  return serverTypes.flatMap((type) => {
    if (providers[type.provider]?.budgetPerHour === undefined) return [];
    const key = `providers.${type.provider}.budgetPerHour`;
    if (type.offerings.length === 0) return [{ file, key, problem: `provider ${type.provider} names no offerings, so the servers of ${type.file} have no price to count against a budget` }];
    const unpriced = type.offerings.filter((offering) => type.prices[offering] === undefined);
    if (catalog.publishesPrices(type.provider) || unpriced.length === 0) return [];
    return [{ file, key, problem: `provider ${type.provider} publishes no prices: ${type.file} must give dynamic-servers:prices for ${unpriced.join(', ')}` }];
  });
}
