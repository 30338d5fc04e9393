import type * as pulumi from '@pulumi/pulumi';
import { offeringTemplate, type ServerProvider } from '../../providers/contract.ts';
import type { ServerRecord } from '../records/records.ts';

/**
 * Whether a server belongs in its type's Pulumi program. Servers being stopped, deleted or gone are left out
 * (so `up` deletes them); draining servers stay until their drain ends; errored and hanging servers stay while the
 * cloud has them (a provider id), so nothing a user may still look at vanishes unasked; an errored server that was
 * never created is left out.
 */
export function isDeclared(server: Pick<ServerRecord, 'status' | 'providerId'>): boolean {
  switch (server.status) {
    case 'new':
    case 'starting':
    case 'running':
    case 'rebooting':
    case 'draining':
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
 * Runs `declare` (which constructs resources) with stack traces that have no frames. Pulumi records in the state
 * where each resource was constructed (`sourcePosition` and `stackTrace`, read from `new Error().stack`), and for
 * ES modules those are the absolute file URLs of this package and of the provider packages: a path of the
 * checkout or the install that would stay in the state after the project moved or the package was upgraded.
 * Constructing a resource is synchronous, so nothing else runs while the formatter is swapped.
 */
function withoutSourcePositions<T>(declare: () => T): T {
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = (error: Error) => `${error.name}: ${error.message}`;
  try {
    return declare();
  } finally {
    Error.prepareStackTrace = previous;
  }
}

/**
 * Declares, through `provider`'s Pulumi side, every server of `servers` that isDeclared, each from the template
 * stored on its row (a changed stack template never touches existing servers), on the offering its row records (the
 * template with that offering's size and place; the first offering for a row that records none), and labelled with
 * `installation`; a server named in `adoptions` takes that existing cloud server instead of creating one. Returns the provider id
 * outputs by server name, which the program exports as `providerIds`, and the servers whose declaration threw (a
 * template the provider rejects, say): they are left out, so the rest of the update proceeds. A server the cloud
 * already has (a provider id) cannot be left out, as the update would delete it: its declaration's error is thrown,
 * failing the whole program. Used by the engine's inline program and by the Pulumi.yaml program, so `pulumi
 * preview` shows exactly what the next reconcile does. The resources carry no source position into the state (see
 * withoutSourcePositions).
 */
export function declareServers(
  provider: ServerProvider,
  serverType: string,
  installation: string,
  servers: readonly ServerRecord[],
  adoptions: ReadonlyMap<string, string> = new Map(),
): DeclaredServers {
  const declared: DeclaredServers = { providerIds: {}, failures: [] };
  for (const server of servers) {
    if (!isDeclared(server)) continue;
    const adopt = adoptions.get(server.name);
    try {
      const template = offeringTemplate(provider, server.template, server.offering);
      declared.providerIds[server.name] = withoutSourcePositions(
        () => provider.declareServer({ installation, serverId: server.name, serverType, template, ...(adopt === undefined ? {} : { adopt }) }).providerId,
      );
    } catch (error) {
      if (server.providerId !== null) throw error;
      const failure = error instanceof Error ? error : new Error(String(error));
      declared.failures.push({ name: server.name, errorClass: failure.name || failure.constructor.name, message: failure.message });
    }
  }
  return declared;
}
