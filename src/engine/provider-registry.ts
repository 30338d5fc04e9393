import { join } from 'node:path';
import type { Offering, ServerProvider, SnapshotTemplate } from '../../providers/contract.ts';
import { awsOfferings, awsProvider } from '../../providers/aws/index.ts';
import { fakeOfferings, fakeProvider } from '../../providers/fake/index.ts';
import { hcloudOfferings, hcloudProvider } from '../../providers/hcloud/index.ts';
import { localCloudProvider, localOfferings } from '../../providers/local/index.ts';
import type { ProviderCatalog } from '../config/provider-catalog.ts';
import { ProviderConfigurationError } from './errors.ts';

/**
 * A provider's settings: the stack config keys of its namespace (`local:endpoint`, with secrets decrypted),
 * then environment variables `<ENV_PREFIX>_<KEY>` (`LOCAL_CLOUD_ENDPOINT`). Values live only in memory.
 */
export interface ProviderSettings {
  get(key: string): string | undefined;
  /** The value, or ProviderConfigurationError naming the config key and the variable that would set it. */
  require(key: string): string;
  /** A directory the engine owns, for providers that keep files (the fake cloud). */
  dataDir: string;
}

interface ProviderModule {
  envPrefix: string;
  /**
   * The offerings of `template` (see ServerProvider.offerings); throws (InvalidRequestError) when the provider cannot
   * create servers from it. Needs no settings.
   */
  offerings(template: SnapshotTemplate): Offering[];
  /** True when the provider reads its offerings' prices from the cloud (ServerProvider.prices). */
  publishesPrices: boolean;
  create(settings: ProviderSettings): ServerProvider;
}

/** The provider modules in providers/, by the name stack files use (`dynamic-servers:provider`). */
const PROVIDER_MODULES: Readonly<Record<string, ProviderModule>> = {
  local: {
    envPrefix: 'LOCAL_CLOUD',
    offerings: localOfferings,
    publishesPrices: true,
    create: (settings) => {
      const token = settings.get('token');
      return localCloudProvider({ endpoint: settings.require('endpoint'), ...(token ? { token } : {}) });
    },
  },
  // The hcloud and aws Pulumi plugins read their own namespace of the stack config (hcloud:token, aws:region)
  // or their standard variables; the API side gets the same values here.
  hcloud: {
    envPrefix: 'HCLOUD',
    offerings: hcloudOfferings,
    publishesPrices: true,
    create: (settings) => {
      const endpoint = settings.get('endpoint');
      return hcloudProvider({ token: settings.require('token'), ...(endpoint ? { endpoint } : {}) });
    },
  },
  aws: {
    envPrefix: 'AWS',
    offerings: awsOfferings,
    publishesPrices: false,
    create: (settings) => {
      const region = settings.get('region');
      const endpoint = settings.get('endpoint');
      return awsProvider({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) });
    },
  },
  fake: { envPrefix: 'FAKE_CLOUD', offerings: fakeOfferings, publishesPrices: false, create: (settings) => fakeProvider(settings.get('stateDir') ?? join(settings.dataDir, 'fake-cloud')) },
};

/** Names of the provider modules a stack file may use. */
export const PROVIDER_NAMES = Object.keys(PROVIDER_MODULES).sort();

/** The built-in providers as the config layer checks stack files against them (no credentials needed). */
export const BUILT_IN_PROVIDERS: ProviderCatalog = {
  has: (provider) => Object.hasOwn(PROVIDER_MODULES, provider),
  names: () => [...PROVIDER_NAMES],
  templateProblem(provider, template) {
    try {
      PROVIDER_MODULES[provider]!.offerings(template);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  },
  offerings: (provider, template) => PROVIDER_MODULES[provider]!.offerings(template).map((offering) => offering.name),
  publishesPrices: (provider) => PROVIDER_MODULES[provider]!.publishesPrices,
};

/**
 * The provider `name` configured from `config` (the stack's decrypted config, `namespace:key` to value) and
 * the environment. Throws ProviderConfigurationError for an unknown provider or a missing setting.
 */
export function createProvider(name: string, config: Readonly<Record<string, string>>, dataDir: string, env: NodeJS.ProcessEnv = process.env): ServerProvider {
  const module = PROVIDER_MODULES[name];
  if (!module) throw new ProviderConfigurationError(`unknown provider "${name}"; expected one of ${PROVIDER_NAMES.join(', ')}`);
  const envName = (key: string) => `${module.envPrefix}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
  const settings: ProviderSettings = {
    dataDir,
    get: (key) => config[`${name}:${key}`] ?? env[envName(key)],
    require(key) {
      const value = settings.get(key);
      if (value === undefined || value === '') {
        throw new ProviderConfigurationError(`provider "${name}" needs ${name}:${key} in the stack config or ${envName(key)} in the environment`);
      }
      return value;
    },
  };
  return module.create(settings);
}
