// The local cloud's record of what a server went through, in our statuses, for the conformance suite's
// `statusHistory` hook (a harness hook: the simulator keeps the record, the provider contract knows nothing of it).
import { mapCloudStatus, type ServerStatus } from '../../providers/contract.ts';
import { HETZNER_STATUS_MAPPING } from '../../providers/hetzner-api/status.ts';
import type { LocalCloud } from '../../src/local-cloud/local-cloud.ts';

/**
 * A `statusHistory` hook reading `cloud`: each server's true statuses in our terms (Hetzner's through the one
 * status mapping, the simulator's `rebooting` as itself, `gone` as `deleted`), repeated ones merged.
 */
export function localCloudHistory(cloud: LocalCloud): (providerId: string) => ServerStatus[] {
  return (providerId) => {
    const statuses: ServerStatus[] = [];
    for (const { status } of cloud.statusHistory(Number(providerId))) {
      const ours = status === 'gone' ? 'deleted' : status === 'rebooting' ? 'rebooting' : mapCloudStatus(HETZNER_STATUS_MAPPING, status);
      if (statuses.at(-1) !== ours) statuses.push(ours);
    }
    return statuses;
  };
}
