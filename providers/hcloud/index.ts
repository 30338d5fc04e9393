// Hetzner Cloud as a provider of the contract: its Pulumi side (program.ts) and its API side (api-client.ts).
import type * as pulumi from '@pulumi/pulumi';
import type { DeclaredServer, ProviderError, ServerDeclaration, ServerProvider, SnapshotTemplate } from '../contract.ts';
import { HcloudApiClient, type HcloudApiOptions } from './api-client.ts';
import { hcloudErrorFromText } from './errors.ts';
import { declareHcloudServer } from './program.ts';
import { parseHcloudTemplate } from './template.ts';

export { createServerBody, HCLOUD_ENDPOINT, HcloudApiClient, type HcloudApiOptions, type HcloudServerSpec } from './api-client.ts';
export { errorFromHcloudAnswer, hcloudErrorFromText } from './errors.ts';
export { declareHcloudServer, type DeclaredHcloudServer, type HcloudConnection } from './program.ts';
export { HCLOUD_STATUSES, RUNNING_ACTION_STATUSES } from './status.ts';
export { parseHcloudTemplate, type HcloudTemplate } from './template.ts';

/** Options of the Hetzner Cloud provider: the API side's, and whether the Pulumi side gets the token explicitly. */
export interface HcloudProviderOptions extends HcloudApiOptions {
  /**
   * Give the Pulumi side the token (as a secret, in an explicit provider). Default false: the hcloud plugin reads
   * `HCLOUD_TOKEN` itself and the token never enters the state.
   */
  tokenInState?: boolean;
}

/**
 * The Hetzner Cloud provider. Its Pulumi side declares one hcloud Server per server (declareHcloudServer, with an
 * explicit provider when an endpoint or an explicit token is configured); its API side is an HcloudApiClient.
 * `parseDeploymentError` reads the typed error out of a failed `up`'s text. Throws InvalidRequestError for a bad
 * endpoint.
 */
export function hcloudProvider(
  options: HcloudProviderOptions = {},
): ServerProvider & { readonly api: HcloudApiClient; parseDeploymentError(text: string): ProviderError | undefined } {
  const api = new HcloudApiClient(options);
  const connection = {
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(options.tokenInState && options.token !== undefined ? { token: options.token } : {}),
  };
  return {
    name: 'hcloud',
    api,
    checkTemplate(template: SnapshotTemplate): void {
      parseHcloudTemplate(template);
    },
    declareServer(declaration: ServerDeclaration, resourceOptions?: pulumi.CustomResourceOptions): DeclaredServer {
      const { server } = declareHcloudServer(declaration, connection, resourceOptions);
      return { resource: server, providerId: server.id };
    },
    parseDeploymentError: hcloudErrorFromText,
  };
}
