// A ServerDeployment that drives a cloud's API directly instead of `pulumi up`, for clouds whose Pulumi plugin
// cannot run here: the conformance suite's API steps run on it. Every apply creates each declared server through
// the provider's idempotent create (so a repeated apply proves adoption by label) and deletes the servers of the
// previous apply that are no longer declared.
import type { ServerDeployment } from '../../providers/conformance.ts';
import type { ServerDeclaration } from '../../providers/contract.ts';

/** How the deployment creates and deletes one server. */
export interface ApiLifecycle {
  /** Creates the server, or adopts the one labelled with its server id; resolves to its provider id. */
  create(declaration: ServerDeclaration): Promise<string>;
  /** Deletes server `providerId`; resolves once the cloud accepted (not found counts as done). */
  delete(providerId: string): Promise<void>;
}

/** A ServerDeployment over `lifecycle`. */
export function apiDeployment(lifecycle: ApiLifecycle): ServerDeployment {
  let applied = new Map<string, string>();
  return {
    async apply(declarations) {
      const next = new Map<string, string>();
      for (const declaration of declarations) next.set(declaration.serverId, await lifecycle.create(declaration));
      for (const [serverId, providerId] of applied) if (!next.has(serverId)) await lifecycle.delete(providerId);
      applied = next;
      return new Map(next);
    },
  };
}
