// The local cloud as a provider of the contract: its Pulumi side (LocalServer) and its API side (the shared
// Hetzner API client, pointed at the local cloud).
import type * as pulumi from '@pulumi/pulumi';
import { serverLabels, serverName, validateDeclaration, type DeclaredServer, type ServerDeclaration, type ServerProvider, type SnapshotTemplate } from '../contract.ts';
import type { HetznerApiClient } from '../hetzner-api/client.ts';
import { localCloudClient, type LocalCloudClientOptions } from './client.ts';
import { LocalServer } from './resource.ts';
import { parseLocalTemplate } from './template.ts';

export { localCloudClient, type LocalCloudClientOptions } from './client.ts';
export { LocalServer, type LocalServerArgs } from './resource.ts';
export { localCreateSpec, parseLocalTemplate, type LocalTemplate } from './template.ts';

/**
 * The local cloud provider for the cloud at `options.endpoint`. Its Pulumi side declares one LocalServer per
 * server (resource and cloud name = the server id, labels from serverLabels, the token as a Pulumi secret); its
 * API side is localCloudClient(options). Throws InvalidRequestError for a bad endpoint.
 */
export function localCloudProvider(options: LocalCloudClientOptions): ServerProvider & { readonly api: HetznerApiClient } {
  const api = localCloudClient(options);
  return {
    name: 'local',
    api,
    checkTemplate(template: SnapshotTemplate): void {
      parseLocalTemplate(template);
    },
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
        },
        resourceOptions,
      );
      return { resource, providerId: resource.id };
    },
  };
}
