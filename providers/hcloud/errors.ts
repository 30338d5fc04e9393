// What a failed `pulumi up` of the hcloud Pulumi plugin says, as a typed error: the plugin's errors carry no
// `[provider-error:...]` tag, they end in the API's error code in parentheses.
import type { ProviderError } from '../contract.ts';
import { errorOfCode } from '../hetzner-api/errors.ts';

/** Hetzner error codes as the hcloud Pulumi provider prints them in a failed `up` (`message (code)`, `(code, request id)`). */
const CODE_IN_TEXT = /\((resource_unavailable|placement_error|resource_limit_exceeded|rate_limit_exceeded|unauthorized|token_readonly|forbidden|invalid_input|uniqueness_error)[,)]/;

/**
 * The typed error a failed `pulumi up` of the hcloud Pulumi provider reports in its text, or undefined
 * (`error during placement (resource_unavailable, 0123abcd)` is an InsufficientCapacityError).
 */
export function hcloudErrorFromText(text: string): ProviderError | undefined {
  const code = CODE_IN_TEXT.exec(text)?.[1];
  return code === undefined ? undefined : errorOfCode(text.trim(), { cloudCode: code });
}
