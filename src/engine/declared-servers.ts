import type * as pulumi from '@pulumi/pulumi';
import type { ServerProvider } from '../../providers/contract.ts';
import type { ServerRecord } from '../records/records.ts';

/**
 * Whether a server belongs in its type's Pulumi program. Servers being stopped, deleted or gone are left out
 * (so `up` deletes them); errored and hanging servers stay while the cloud has them (a provider id), so nothing
 * a user may still look at vanishes unasked; an errored server that was never created is left out.
 */
export function isDeclared(server: Pick<ServerRecord, 'status' | 'providerId'>): boolean {
  switch (server.status) {
    case 'new':
    case 'starting':
    case 'running':
    case 'rebooting':
      return true;
    case 'errored':
    case 'hanging':
      return server.providerId !== null;
    default:
      return false;
  }
}

/**
 * Declares, through `provider`'s Pulumi side, every server of `servers` that isDeclared, each from the template
 * stored on its row (a changed stack template never touches existing servers) and labelled with `installation`;
 * a server named in `adoptions` takes that existing cloud server instead of creating one. Returns the provider id
 * outputs by server name, which the program exports as `providerIds`. Used by the engine's inline program and by
 * the Pulumi.yaml program, so `pulumi preview` shows what the next reconcile does.
 */
export function declareServers(
  provider: ServerProvider,
  serverType: string,
  installation: string,
  servers: readonly ServerRecord[],
  adoptions: ReadonlyMap<string, string> = new Map(),
): Record<string, pulumi.Output<string>> {
  const providerIds: Record<string, pulumi.Output<string>> = {};
  for (const server of servers) {
    if (!isDeclared(server)) continue;
    const adopt = adoptions.get(server.name);
    providerIds[server.name] = provider.declareServer({ installation, serverId: server.name, serverType, template: server.template, ...(adopt === undefined ? {} : { adopt }) }).providerId;
  }
  return providerIds;
}
