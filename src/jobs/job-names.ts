/** The Agenda job that applies the desired state of `serverType` (one per type, coalesced). */
export function reconcileJob(serverType: string): string {
  return `reconcile:${serverType}`;
}

/** The Agenda job that watches the starting, rebooting and deleting servers of `serverType` (one per type). */
export function verifyJob(serverType: string): string {
  return `verify:${serverType}`;
}

/** The Agenda job that creates the servers a type's desired count misses, when its paused creates resume (one per type). */
export function replenishJob(serverType: string): string {
  return `replenish:${serverType}`;
}

/** The recurring job that marks hung servers and re-requests work a lost request left behind. */
export const HOUSEKEEPING_JOB = 'housekeeping';

/** The recurring job that asks the user's `determineServerCount` for each type's count. */
export const MONITOR_JOB = 'monitor';

/** The recurring job that removes old deleted and errored records. */
export const PRUNE_JOB = 'prune';
