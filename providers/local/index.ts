// The local cloud as a provider of the contract: its Pulumi side (LocalServer) and its API side (the shared
// Hetzner API client, pointed at the local cloud).
import type * as pulumi from '@pulumi/pulumi';
import {
  parseProviderError,
  serverLabels,
  serverName,
  validateDeclaration,
  type DeclaredServer,
  type Offering,
  type OfferingPrice,
  type ServerDeclaration,
  type ServerProvider,
  type SnapshotTemplate,
} from '../contract.ts';
import type { HetznerApiClient } from '../hetzner-api/client.ts';
import { localCloudClient, type LocalCloudClientOptions } from './client.ts';
import { LocalServer } from './resource.ts';
import { localOfferings, parseLocalTemplate } from './template.ts';

export { localCloudClient, type LocalCloudClientOptions } from './client.ts';
export { LocalServer, type LocalServerArgs } from './resource.ts';
export { localCreateSpec, localOfferings, parseLocalTemplate, type LocalTemplate } from './template.ts';

/**
 * The prices of the local cloud's offerings from its pricing endpoint: `size@location` for each size and location,
 * and `size` alone at the price of the first location listed (the cloud's default location).
 */
async function localPrices(api: HetznerApiClient): Promise<OfferingPrice[]> {
  const prices = await api.serverTypePrices();
  const named = prices.map((price) => ({ offering: `${price.serverType}@${price.location}`, hourly: price.hourly, currency: price.currency }));
  const firstLocation = prices[0]?.location;
  const bare = prices.filter((price) => price.location === firstLocation).map((price) => ({ offering: price.serverType, hourly: price.hourly, currency: price.currency }));
  return [...named, ...bare];
}

/** Options of the local cloud provider: the API client's, and how its Pulumi side's create behaves. */
export interface LocalCloudProviderOptions extends LocalCloudClientOptions {
  /**
   * false: the Pulumi side's create never looks for a server it may already have made, so a retried create makes a
   * second server (on a cloud whose names may repeat) or fails on the taken name, as the native hcloud and aws
   * plugins do. A testing aid (stack config `local:adoptOnCreate: false`) for the engine's own adoption and sweep.
   * Default true.
   */
  adoptOnCreate?: boolean;
}

/**
 * The local cloud provider for the cloud at `options.endpoint`. Its Pulumi side declares one LocalServer per
 * server (resource and cloud name = the server id, labels from serverLabels, the token as a Pulumi secret, the
 * adopted server id when the declaration names one); its API side is localCloudClient(options); deployment errors
 * carry markProviderError's tag; its prices come from the cloud's pricing endpoint. Throws InvalidRequestError for a
 * bad endpoint.
 */
export function localCloudProvider(
  options: LocalCloudProviderOptions,
): ServerProvider & { readonly api: HetznerApiClient; offerings(template: SnapshotTemplate): Offering[]; prices(): Promise<OfferingPrice[]> } {
  const { adoptOnCreate, ...clientOptions } = options;
  const api = localCloudClient(clientOptions);
  return {
    name: 'local',
    api,
    checkTemplate(template: SnapshotTemplate): void {
      localOfferings(template);
    },
    offerings: localOfferings,
    prices: () => localPrices(api),
    declareServer(declaration: ServerDeclaration, resourceOptions?: pulumi.CustomResourceOptions): DeclaredServer {
      validateDeclaration(declaration);
      const template = parseLocalTemplate(declaration.template);
      const resource = new LocalServer(
        serverName(declaration),
        {
          endpoint: options.endpoint,
          token: options.token,
          name: serverName(declaration),
          size: template.size,
          snapshot: template.snapshot,
          ...(template.location === undefined ? {} : { location: template.location }),
          labels: { ...serverLabels(declaration) },
          ...(declaration.adopt === undefined ? {} : { adopt: declaration.adopt }),
          ...(adoptOnCreate === false ? { adoptOnCreate: false } : {}),
        },
        resourceOptions,
      );
      return { resource, providerId: resource.id };
    },
    parseDeploymentError: parseProviderError,
  };
}
