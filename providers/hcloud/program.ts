// The Pulumi side of the Hetzner Cloud provider: one `hcloud.Server` per declared server, booted from the type's
// snapshot (by id, or the newest snapshot matching a label selector), shut down gracefully before deletion.
import * as hcloud from '@pulumi/hcloud';
import * as pulumi from '@pulumi/pulumi';
import { serverLabels, serverName, validateDeclaration, type ServerDeclaration } from '../contract.ts';
import { labelSelector } from '../hetzner-api/label-selector.ts';
import { parseHcloudTemplate, type HcloudSnapshotRef } from './template.ts';

/** How the Pulumi side reaches Hetzner Cloud. */
export interface HcloudConnection {
  /**
   * API token for an explicit provider, made a Pulumi secret (encrypted in state). Leave it out to let the
   * hcloud plugin read `HCLOUD_TOKEN` from its environment, which keeps the token out of the state altogether.
   */
  token?: pulumi.Input<string>;
  /** API base URL for an explicit provider (the hcloud provider's `endpoint` setting). */
  endpoint?: string;
}

/** The resources declared for one server. */
export interface DeclaredHcloudServer {
  server: hcloud.Server;
  /** The explicit provider the server uses; undefined when the default provider is used. */
  provider: hcloud.Provider | undefined;
}

/** The image id for `snapshot`: its id, or the newest available snapshot matching its selector (`getImage`). */
function snapshotImage(snapshot: HcloudSnapshotRef, invokeOptions: pulumi.InvokeOutputOptions): pulumi.Input<string> {
  if ('id' in snapshot) return snapshot.id;
  return hcloud
    .getImageOutput({ withSelector: labelSelector(snapshot.selector), mostRecent: true, withStatuses: ['available'] }, invokeOptions)
    .apply((image) => String(image.id));
}

/**
 * Inputs of a server that the Hetzner API does not give back (user data, SSH keys, the graceful-shutdown switch) or
 * gives back in another form (the image): an adopted server's import could not match them, so their changes are
 * ignored on every server. A server's template never changes once it exists (the row keeps it), so nothing is lost.
 */
export const HCLOUD_UNREADABLE_INPUTS = ['image', 'userData', 'sshKeys', 'shutdownBeforeDeletion'] as const;

/**
 * Declares the server `declaration` describes: an `hcloud:index/server:Server` named and labelled by the
 * contract (template labels plus serverLabels), from the template's snapshot, server type, location, SSH keys,
 * user data, firewalls, networks and placement group, with `shutdownBeforeDeletion` (graceful ACPI shutdown
 * before delete) and delete-before-replace (names are unique in a Hetzner project). With `declaration.adopt`, the
 * existing server of that id is imported (Pulumi's `import` option) instead of created. With a token or endpoint in
 * `connection`, the server gets its own explicit provider of the same name. Throws InvalidRequestError for a bad
 * declaration or template.
 */
export function declareHcloudServer(declaration: ServerDeclaration, connection: HcloudConnection = {}, options: pulumi.CustomResourceOptions = {}): DeclaredHcloudServer {
  validateDeclaration(declaration);
  const template = parseHcloudTemplate(declaration.template);
  const name = serverName(declaration);
  const provider =
    connection.token === undefined && connection.endpoint === undefined
      ? undefined
      : new hcloud.Provider(name, {
          ...(connection.token === undefined ? {} : { token: pulumi.secret(connection.token) }),
          ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
        });
  const withProvider = provider ? { provider } : options.provider ? { provider: options.provider } : {};
  const server = new hcloud.Server(
    name,
    {
      name,
      image: snapshotImage(template.snapshot, withProvider),
      serverType: template.serverType,
      location: template.location,
      labels: { ...template.labels, ...serverLabels(declaration) },
      ...(template.sshKeys ? { sshKeys: template.sshKeys } : {}),
      ...(template.userData === undefined ? {} : { userData: template.userData }),
      ...(template.firewallIds ? { firewallIds: template.firewallIds } : {}),
      ...(template.networks ? { networks: template.networks.map((network) => ({ networkId: network.networkId, ...(network.ip ? { ip: network.ip } : {}) })) } : {}),
      ...(template.placementGroupId === undefined ? {} : { placementGroupId: template.placementGroupId }),
      publicNets: [{ ipv4Enabled: template.publicIpv4 ?? true, ipv6Enabled: template.publicIpv6 ?? true }],
      shutdownBeforeDeletion: true,
    },
    {
      ...options,
      ...withProvider,
      deleteBeforeReplace: true,
      ignoreChanges: [...(options.ignoreChanges ?? []), ...HCLOUD_UNREADABLE_INPUTS],
      ...(declaration.adopt === undefined ? {} : { import: declaration.adopt }),
    },
  );
  return { server, provider };
}
