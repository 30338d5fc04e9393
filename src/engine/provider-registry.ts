import { join } from 'node:path';
import type { Offering, ProviderFactory, ProviderSettings, ServerProvider } from '../../providers/contract.ts';
import { awsOfferings, awsProvider, parseAwsTemplate } from '../../providers/aws/index.ts';
import { fakeOfferings, fakeProvider } from '../../providers/fake/index.ts';
import { hcloudOfferings, hcloudProvider, parseHcloudTemplate } from '../../providers/hcloud/index.ts';
import { localCloudProvider, localOfferings, parseLocalTemplate } from '../../providers/local/index.ts';
import type { ProviderCatalogLoader } from '../config/provider-catalog.ts';
import type { JsonObject } from '../records/json.ts';
import { ProviderConfigurationError } from './errors.ts';
import { importProviderPackage, ProviderPackageError, ProviderPackageNotInstalledError } from './provider-packages.ts';
import { providerFromFactory, type ProviderEnvironment } from './provider-settings.ts';

/**
 * The providers built into this package, by the name stack files use (`dynamic-servers:provider`). These names are
 * reserved: any other name is a provider package (see provider-packages.ts).
 */
const BUILT_IN_FACTORIES: Readonly<Record<string, ProviderFactory>> = {
  local: {
    configNamespace: 'local',
    envPrefix: 'LOCAL_CLOUD',
    checkTemplate: parseLocalTemplate,
    offerings: localOfferings,
    publishesPrices: true,
    create: (settings) => {
      const token = settings.get('token');
      // `local:adoptOnCreate: false` (a testing aid) makes its create as little idempotent as the native plugins'.
      const adoptOnCreate = booleanSetting(settings, 'adoptOnCreate');
      return localCloudProvider({ endpoint: settings.require('endpoint'), ...(token ? { token } : {}), ...(adoptOnCreate === undefined ? {} : { adoptOnCreate }) });
    },
  },
  // The hcloud and aws Pulumi plugins read their own namespace of the stack config (hcloud:token, aws:region)
  // or their standard variables; the API side gets the same values here.
  hcloud: {
    configNamespace: 'hcloud',
    envPrefix: 'HCLOUD',
    checkTemplate: parseHcloudTemplate,
    offerings: hcloudOfferings,
    publishesPrices: true,
    create: (settings) => {
      const endpoint = settings.get('endpoint');
      return hcloudProvider({ token: settings.require('token'), ...(endpoint ? { endpoint } : {}) });
    },
  },
  aws: {
    configNamespace: 'aws',
    envPrefix: 'AWS',
    checkTemplate: parseAwsTemplate,
    offerings: awsOfferings,
    publishesPrices: false,
    create: (settings) => {
      const region = settings.get('region');
      const endpoint = settings.get('endpoint');
      return awsProvider({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) });
    },
  },
  fake: {
    configNamespace: 'fake',
    envPrefix: 'FAKE_CLOUD',
    checkTemplate: () => {},
    offerings: fakeOfferings,
    publishesPrices: false,
    create: (settings) => fakeProvider(settings.get('stateDir') ?? join(settings.dataDir, 'fake-cloud')),
  },
};

/** The boolean setting `key` (`true` or `false`, as Pulumi stores config values), or undefined; ProviderConfigurationError otherwise. */
function booleanSetting(settings: ProviderSettings, key: string): boolean | undefined {
  const value = settings.get(key);
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ProviderConfigurationError(`${key} must be true or false, got ${JSON.stringify(value)}`);
}

/** Names of the built-in providers, sorted. */
export const PROVIDER_NAMES = Object.keys(BUILT_IN_FACTORIES).sort();

/** True when `name` is a built-in provider (any other name is a provider package). */
function isBuiltInProvider(name: string): boolean {
  return Object.hasOwn(BUILT_IN_FACTORIES, name);
}

/** The factory of built-in provider `name`, or undefined (never a property every object has, such as `constructor`). */
function builtInFactory(name: string): ProviderFactory | undefined {
  return isBuiltInProvider(name) ? BUILT_IN_FACTORIES[name] : undefined;
}

/**
 * The offerings `factory` makes of `template` after its checkTemplate accepted it: its `offerings`, or none for a
 * factory without them (the template is the one unnamed offering). Throws what either throws for a bad template.
 */
function factoryOfferings(factory: ProviderFactory, template: JsonObject): Offering[] {
  factory.checkTemplate(template);
  return factory.offerings?.(template) ?? [];
}

/** Why `factory` refuses `template` (one line), or undefined when it accepts it (its checkTemplate and offerings both). */
function templateProblemOf(factory: ProviderFactory, template: JsonObject): string | undefined {
  try {
    factoryOfferings(factory, template);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * The factory of provider `name`: a built-in one, or the default export of the package `name` as `projectDir`
 * resolves it. Throws ProviderPackageError (a ProviderConfigurationError) when that package cannot be used.
 */
export async function loadProviderFactory(name: string, projectDir: string): Promise<ProviderFactory> {
  return builtInFactory(name) ?? importProviderPackage(name, projectDir);
}

/**
 * The catalog that the stack files of the project in (or above) `projectDir` are checked against: the built-in
 * providers, and the provider packages the files name, imported from the project (each one's checkTemplate and
 * offerings run), with the names of a template's offerings and whether a provider publishes prices.
 */
export function projectProviderCatalog(projectDir: string): ProviderCatalogLoader {
  return async (providers) => {
    const factories = new Map<string, ProviderFactory>();
    const problems = new Map<string, string>();
    for (const name of new Set(providers)) {
      if (isBuiltInProvider(name)) continue;
      try {
        factories.set(name, await importProviderPackage(name, projectDir));
      } catch (error) {
        if (!(error instanceof ProviderPackageError)) throw error;
        problems.set(
          name,
          error instanceof ProviderPackageNotInstalledError
            ? `unknown provider "${name}": not a built-in provider (${PROVIDER_NAMES.join(', ')}), and no package of that name is installed in ${projectDir} (\`npm install ${name}\` there, if it is a provider package)`
            : error.message,
        );
      }
    }
    const factoryOf = (name: string) => builtInFactory(name) ?? factories.get(name);
    return {
      providerProblem: (provider) => (factoryOf(provider) ? undefined : (problems.get(provider) ?? `unknown provider "${provider}"`)),
      templateProblem: (provider, template) => templateProblemOf(factoryOf(provider)!, template),
      offerings: (provider, template) => factoryOfferings(factoryOf(provider)!, template).map((offering) => offering.name),
      publishesPrices: (provider) => factoryOf(provider)!.publishesPrices === true,
    };
  };
}

/**
 * The provider `name` configured from `config` and the environment (see providerFromFactory); a provider package is
 * imported from `projectDir`. Throws ProviderConfigurationError for a provider that is neither built in nor an
 * installed package, or a missing setting.
 */
export async function createProvider(
  name: string,
  config: Readonly<Record<string, string>>,
  options: ProviderEnvironment & { projectDir: string },
): Promise<ServerProvider> {
  if (!name) throw new ProviderConfigurationError(`the stack config names no provider (dynamic-servers:provider); built-in providers: ${PROVIDER_NAMES.join(', ')}`);
  return providerFromFactory(name, await loadProviderFactory(name, options.projectDir), config, options);
}
