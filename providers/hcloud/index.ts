// Hetzner Cloud as a provider of the contract: its Pulumi side (program.ts, the hcloud Pulumi plugin) and its API
// side (the shared Hetzner API client of ../hetzner-api, pointed at Hetzner).
import type * as pulumi from '@pulumi/pulumi';
import type { DeclaredServer, Offering, OfferingPrice, ServerDeclaration, ServerProvider, SnapshotTemplate } from '../contract.ts';
import { HetznerApiClient, type HetznerApiOptions } from '../hetzner-api/client.ts';
import { hcloudErrorFromText } from './errors.ts';
import { declareHcloudServer } from './program.ts';
import { hcloudOfferings } from './template.ts';

export { HetznerApiClient, type ServerCreateSpec, type ServerTypePrice } from '../hetzner-api/client.ts';
export { HETZNER_STATUS_MAPPING, RUNNING_ACTION_STATUSES } from '../hetzner-api/status.ts';
export { hcloudErrorFromText } from './errors.ts';
export { declareHcloudServer, HCLOUD_UNREADABLE_INPUTS, type DeclaredHcloudServer, type HcloudConnection } from './program.ts';
export { hcloudCreateSpec, hcloudOfferings, parseHcloudTemplate, type HcloudTemplate } from './template.ts';

/** The public Hetzner Cloud API. */
export const HCLOUD_ENDPOINT = 'https://api.hetzner.cloud/v1';

/**
 * How the API side reaches Hetzner Cloud: the shared client's options, with the endpoint defaulting to the public
 * API and the token to `$HCLOUD_TOKEN` (required: a request without one is a ProviderAuthError, sent nowhere).
 * Delete shuts a running server down gracefully first, as the Pulumi side's `shutdownBeforeDeletion` does.
 */
export type HcloudApiOptions = Omit<HetznerApiOptions, 'endpoint' | 'cloudName' | 'missingTokenHint' | 'shutdownBeforeDelete'> & { endpoint?: string };

/** The API side of the hcloud provider: a HetznerApiClient for Hetzner Cloud with `options`. */
export function hcloudApiClient(options: HcloudApiOptions = {}): HetznerApiClient {
  const token = options.token ?? (process.env.HCLOUD_TOKEN || undefined);
  return new HetznerApiClient({
    ...options,
    endpoint: options.endpoint ?? HCLOUD_ENDPOINT,
    ...(token === undefined ? {} : { token }),
    cloudName: 'Hetzner Cloud',
    missingTokenHint: 'set HCLOUD_TOKEN or pass a token to the hcloud provider',
    shutdownBeforeDelete: true,
  });
}

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
 * explicit provider when an endpoint or an explicit token is configured; the server the declaration adopts is
 * imported); its API side is hcloudApiClient(options). `parseDeploymentError` reads the typed error out of the hcloud
 * plugin's text of a failed step (Hetzner's error code); its prices come from Hetzner's pricing endpoint
 * (`serverType@location`, net of VAT). Throws InvalidRequestError for a bad endpoint.
 */
export function hcloudProvider(
  options: HcloudProviderOptions = {},
): ServerProvider & { readonly api: HetznerApiClient; offerings(template: SnapshotTemplate): Offering[]; prices(): Promise<OfferingPrice[]> } {
  const { tokenInState, ...apiOptions } = options;
  const api = hcloudApiClient(apiOptions);
  const connection = {
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    ...(tokenInState && options.token !== undefined ? { token: options.token } : {}),
  };
  return {
    name: 'hcloud',
    api,
    checkTemplate(template: SnapshotTemplate): void {
      hcloudOfferings(template);
    },
    offerings: hcloudOfferings,
    async prices(): Promise<OfferingPrice[]> {
      return (await api.serverTypePrices()).map((price) => ({ offering: `${price.serverType}@${price.location}`, hourly: price.hourly, currency: price.currency }));
    },
    declareServer(declaration: ServerDeclaration, resourceOptions?: pulumi.CustomResourceOptions): DeclaredServer {
      const { server } = declareHcloudServer(declaration, connection, resourceOptions);
      return { resource: server, providerId: server.id };
    },
    parseDeploymentError: hcloudErrorFromText,
  };
}
