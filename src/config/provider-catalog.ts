import type { JsonObject } from '../records/json.ts';

/**
 * The providers a deployment can use, as the config layer checks stack files against them: whether a provider
 * can be named, and whether it accepts a template. Needs no credentials, so `validate` runs on pull requests.
 */
export interface ProviderCatalog {
  /**
   * Why a stack file may not name `provider` (one line: unknown, a package that is not installed or exports no
   * provider), or undefined when it may.
   */
  providerProblem(provider: string): string | undefined;
  /** Why `provider` refuses `template` (one line), or undefined when it accepts it. `provider` must be one it may name. */
  templateProblem(provider: string, template: JsonObject): string | undefined;
  /** The names of the offerings of a template `provider` accepts, in order of preference (e.g. `cx22@fsn1`). */
  offerings(provider: string, template: JsonObject): string[];
  /** True when `provider` reads the prices of its offerings from its cloud; else a budget needs prices in the stack file. */
  publishesPrices(provider: string): boolean;
}

/**
 * The catalog for the providers a deployment's files name (each stack file's provider and the keys of
 * providers.yaml): provider packages are loaded only when a file names them.
 */
export type ProviderCatalogLoader = (providers: readonly string[]) => Promise<ProviderCatalog>;
