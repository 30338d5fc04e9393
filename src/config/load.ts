import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StackConfigError, type StackConfigProblem } from './errors.ts';
import type { ProviderCatalog } from './provider-catalog.ts';
import { parseProviderLimitsFile, PROVIDER_LIMITS_FILE, type ProviderLimits } from './provider-limits-file.ts';
import { parseStackFile, type ServerTypeConfig } from './stack-file.ts';

/** Everything a deployment's reviewed files configure: its server types and the limits of its providers. */
export interface DeploymentConfig {
  /** One per `Pulumi.<type>.yaml`, sorted by type. */
  serverTypes: ServerTypeConfig[];
  /** From `providers.yaml` (empty when the file does not exist), by provider name. */
  providers: Record<string, ProviderLimits>;
}

/**
 * Reads every `Pulumi.<type>.yaml` and the optional `providers.yaml` in `stacksDir` (the `stackConfigDir` of
 * Pulumi.yaml). Throws one StackConfigError listing the problems of all files together, checked against `catalog`
 * when given (unknown providers, rejected templates, limits of providers no file can name).
 */
export async function loadDeploymentConfig(stacksDir: string, catalog?: ProviderCatalog): Promise<DeploymentConfig> {
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
  for (const name of files) {
    const file = join(stacksDir, name);
    try {
      serverTypes.push(parseStackFile(file, await readFile(file, 'utf8'), catalog));
    } catch (error) {
      collect(error);
    }
  }
  if (entries.includes(PROVIDER_LIMITS_FILE)) {
    const file = join(stacksDir, PROVIDER_LIMITS_FILE);
    try {
      providers = parseProviderLimitsFile(file, await readFile(file, 'utf8'), catalog);
    } catch (error) {
      collect(error);
    }
  }
  if (catalog) problems.push(...unpricedUnderProviderBudgets(serverTypes, providers, catalog, join(stacksDir, PROVIDER_LIMITS_FILE)));
  if (problems.length > 0) throw new StackConfigError(problems);
  return { serverTypes, providers };
}

/**
 * A provider budget needs a price for every offering of every type on the provider: one problem per type whose
 * provider publishes no prices and whose stack file leaves offerings unpriced.
 */
function unpricedUnderProviderBudgets(serverTypes: readonly ServerTypeConfig[], providers: Record<string, ProviderLimits>, catalog: ProviderCatalog, file: string): StackConfigProblem[] {
  return serverTypes.flatMap((type) => {
    const unpriced = type.offerings.filter((offering) => type.prices[offering] === undefined);
    if (providers[type.provider]?.budgetPerHour === undefined || catalog.publishesPrices(type.provider) || unpriced.length === 0) return [];
    return [{ file, key: `providers.${type.provider}.budgetPerHour`, problem: `provider ${type.provider} publishes no prices: ${type.file} must give dynamic-servers:prices for ${unpriced.join(', ')}` }];
  });
}
