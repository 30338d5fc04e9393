import { join } from 'node:path';
import type { ServerProvider, SnapshotTemplate } from '../../providers/contract.ts';
import { awsProvider, parseAwsTemplate } from '../../providers/aws/index.ts';
import { fakeProvider } from '../../providers/fake/index.ts';
import { hcloudProvider, parseHcloudTemplate } from '../../providers/hcloud/index.ts';
import { localCloudProvider, parseLocalTemplate } from '../../providers/local/index.ts';
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
  /** Throws (InvalidRequestError) when the provider cannot create servers from `template`; needs no settings. */
  checkTemplate(template: SnapshotTemplate): void;
  create(settings: ProviderSettings): ServerProvider;
}

/** The provider modules in providers/, by the name stack files use (`dynamic-servers:provider`). */
const PROVIDER_MODULES: Readonly<Record<string, ProviderModule>> = {
  local: {
    envPrefix: 'LOCAL_CLOUD',
    checkTemplate: parseLocalTemplate,
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
    envPrefix: 'HCLOUD',
    checkTemplate: parseHcloudTemplate,
    create: (settings) => {
      const endpoint = settings.get('endpoint');
      return hcloudProvider({ token: settings.require('token'), ...(endpoint ? { endpoint } : {}) });
    },
  },
  aws: {
    envPrefix: 'AWS',
    checkTemplate: parseAwsTemplate,
    create: (settings) => {
      const region = settings.get('region');
      const endpoint = settings.get('endpoint');
      return awsProvider({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) });
    },
  },
  fake: { envPrefix: 'FAKE_CLOUD', checkTemplate: () => {}, create: (settings) => fakeProvider(settings.get('stateDir') ?? join(settings.dataDir, 'fake-cloud')) },
};

/** The boolean setting `key` (`true` or `false`, as Pulumi stores config values), or undefined; ProviderConfigurationError otherwise. */
function booleanSetting(settings: ProviderSettings, key: string): boolean | undefined {
  const value = settings.get(key);
  if (value === undefined || value === '') return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ProviderConfigurationError(`${key} must be true or false, got ${JSON.stringify(value)}`);
}

/** Names of the provider modules a stack file may use. */
export const PROVIDER_NAMES = Object.keys(PROVIDER_MODULES).sort();

/** The built-in providers as the config layer checks stack files against them (no credentials needed). */
export const BUILT_IN_PROVIDERS: ProviderCatalog = {
  has: (provider) => Object.hasOwn(PROVIDER_MODULES, provider),
  names: () => [...PROVIDER_NAMES],
  templateProblem(provider, template) {
    try {
      PROVIDER_MODULES[provider]!.checkTemplate(template);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  },
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
