import type { JsonObject } from '../records/json.ts';

/**
 * The providers a deployment can use, as the config layer checks stack files against them: which names exist, and
 * whether a provider accepts a template. Needs no credentials, so `validate` runs on pull requests.
 */
export interface ProviderCatalog {
  /** True when a stack file may name `provider`. */
  has(provider: string): boolean;
  /** Every provider name, sorted, for messages. */
  names(): string[];
  /** Why `provider` refuses `template` (one line), or undefined when it accepts it. `provider` must exist. */
  templateProblem(provider: string, template: JsonObject): string | undefined;
  /** The names of the offerings of a template `provider` accepts, in order of preference (e.g. `cx22@fsn1`). */
  offerings(provider: string, template: JsonObject): string[];
  /** True when `provider` reads the prices of its offerings from its cloud; else a budget needs prices in the stack file. */
  publishesPrices(provider: string): boolean;
}
