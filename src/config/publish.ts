// Publishing: the reviewed files of a deployment, validated, written to the registry in its database. Scripts and
// workers on any machine read the registry; only publishing reads the files.
import { relative } from 'node:path';
import type { EngineRecords } from '../records/engine-records.ts';
import type { Publication, PublishReport } from '../records/registry.ts';
import type { DeploymentConfig } from './load.ts';
import { loadDeploymentConfig } from './load.ts';
import type { ProviderCatalogLoader } from './provider-catalog.ts';

/** What the registry receives for `config`: each type's provider, template, offerings and settings, and the provider limits and budgets. */
export function publicationOf(config: DeploymentConfig, projectDir?: string): Publication {
  return {
    serverTypes: config.serverTypes.map((type) => ({
      name: type.type,
      provider: type.provider,
      template: type.template,
      settings: {
        maxServers: type.maxServers ?? null,
        timeouts: type.timeouts,
        hangingServers: type.hangingServers,
        erroredServers: type.erroredServers,
        offerings: type.offerings,
        prices: type.prices,
        budgetPerHour: type.budgetPerHour ?? null,
        unavailableOfferingSeconds: type.unavailableOfferingSeconds,
        rollout: type.rollout,
        drain: type.drain,
        undrainedServers: type.undrainedServers,
      },
      source: projectDir === undefined ? type.file : relative(projectDir, type.file),
    })),
    providers: Object.fromEntries(
      Object.entries(config.providers).map(([provider, limits]) => [provider, { maxServers: limits.maxServers ?? null, budgetPerHour: limits.budgetPerHour ?? null }]),
    ),
  };
}

/**
 * Validates every file in `stacksDir` against the catalog `catalog` gives and publishes them through `records`. Throws
 * StackConfigError (nothing published) for an invalid file, ServerTypeInUseError for a removed file whose type
 * still has servers. Returns what changed.
 */
export async function publishStackFiles(records: EngineRecords, stacksDir: string, catalog: ProviderCatalogLoader, projectDir?: string): Promise<PublishReport> {
  const config = await loadDeploymentConfig(stacksDir, catalog);
  return records.publish(publicationOf(config, projectDir));
}
