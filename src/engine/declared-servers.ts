import type * as pulumi from '@pulumi/pulumi';
import { offeringTemplate, type ServerProvider } from '../../providers/contract.ts';
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

/** A server whose declaration threw: it is left out of the program, and the engine records it errored. */
export interface DeclarationFailure {
  name: string;
  /** The error's class name (e.g. InvalidRequestError). */
  errorClass: string;
  message: string;
}

/** What declareServers declared: the provider id outputs by server name, and the servers it could not declare. */
export interface DeclaredServers {
  providerIds: Record<string, pulumi.Output<string>>;
  failures: DeclarationFailure[];
}

/**
 * Declares, through `provider`'s Pulumi side, every server of `servers` that isDeclared, each from the template
 * stored on its row (a changed stack template never touches existing servers), on the offering its row records (the
 * template with that offering's size and place; the first offering for a row that records none). Returns the provider id outputs
 * by server name, which the program exports as `providerIds`, and the servers whose declaration threw (a template
 * the provider rejects, say): they are left out, so the rest of the update proceeds. A server the cloud already
 * has (a provider id) cannot be left out, as the update would delete it: its declaration's error is thrown, failing
 * the whole program. Used by the engine's inline program and by the Pulumi.yaml program, so `pulumi preview` shows
 * exactly what the next reconcile does.
 */
export function declareServers(provider: ServerProvider, serverType: string, servers: readonly ServerRecord[]): DeclaredServers {
  const declared: DeclaredServers = { providerIds: {}, failures: [] };
  for (const server of servers) {
    if (!isDeclared(server)) continue;
    try {
      const template = offeringTemplate(provider, server.template, server.offering);
      declared.providerIds[server.name] = provider.declareServer({ serverId: server.name, serverType, template }).providerId;
    } catch (error) {
      if (server.providerId !== null) throw error;
      const failure = error instanceof Error ? error : new Error(String(error));
      declared.failures.push({ name: server.name, errorClass: failure.name || failure.constructor.name, message: failure.message });
    }
  }
  return declared;
}
