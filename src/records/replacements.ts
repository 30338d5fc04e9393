// A rollout's replacement does not count while the server it replaces is still provisioned: the pair is one
// server of the desired count. Count changes and the rollout both see a type's provisioned servers this way.
import type { ServerRecord } from './records.ts';

/** A type's provisioned servers, split into those that count and the replacements on their way. */
export interface ProvisionedSplit {
  /** Servers that count towards the desired count (a replaced server counts until its replacement runs). */
  counted: ServerRecord[];
  /** Replacements whose replaced server is still provisioned. */
  surplus: ServerRecord[];
  /** The replacements on their way for server `serverId` (none for most servers). */
  replacementsOf(serverId: number): ServerRecord[];
}

/** Splits `provisioned` (a type's provisioned servers) into the counted servers and the replacements on their way. */
export function splitProvisioned(provisioned: readonly ServerRecord[]): ProvisionedSplit {
  const ids = new Set(provisioned.map((server) => server.id));
  const surplus = provisioned.filter((server) => server.replacesServerId !== null && ids.has(server.replacesServerId));
  const surplusIds = new Set(surplus.map((server) => server.id));
  return {
    counted: provisioned.filter((server) => !surplusIds.has(server.id)),
    surplus,
    replacementsOf: (serverId) => surplus.filter((server) => server.replacesServerId === serverId),
  };
}
