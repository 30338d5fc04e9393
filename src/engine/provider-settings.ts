// A provider made from its factory: the settings it reads come from its namespace of the stack config, else from
// its environment variables. Imports no provider, so provider packages' tests can use it (through the harness).
import type { ProviderFactory, ProviderSettings, ServerProvider } from '../../providers/contract.ts';
import { ProviderConfigurationError } from './errors.ts';

/** Where a provider's settings come from besides the stack config. */
export interface ProviderEnvironment {
  /** The directory the engine gives providers for their files. */
  dataDir: string;
  /** Environment variables (`<envPrefix>_<KEY>`); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Provider `name` made by `factory` from `config` (the stack's decrypted config, `namespace:key` to value) and the
 * environment: `settings.get('endpoint')` reads `<configNamespace>:endpoint`, else `<ENV_PREFIX>_ENDPOINT`. A
 * missing required setting throws ProviderConfigurationError naming both places.
 */
export function providerFromFactory(name: string, factory: ProviderFactory, config: Readonly<Record<string, string>>, environment: ProviderEnvironment): ServerProvider {
  const env = environment.env ?? process.env;
  const envName = (key: string) => `${factory.envPrefix}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
  const settings: ProviderSettings = {
    dataDir: environment.dataDir,
    get: (key) => config[`${factory.configNamespace}:${key}`] ?? env[envName(key)],
    require(key) {
      const value = settings.get(key);
      if (value === undefined || value === '') {
        throw new ProviderConfigurationError(`provider "${name}" needs ${factory.configNamespace}:${key} in the stack config or ${envName(key)} in the environment`);
      }
      return value;
    },
  };
  return factory.create(settings);
}
