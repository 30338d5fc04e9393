import { SERVER_STATUSES, type ServerStatus } from '../../providers/contract.ts';

// One list of statuses for the records and the providers: the provider contract defines it.
export { SERVER_STATUSES, type ServerStatus };

/**
 * Statuses that count as a provisioned server: the ones `ensure`, `increase`, `decrease` and the limits count.
 * Errored and hanging servers are not counted.
 */
export const PROVISIONED_STATUSES = ['new', 'starting', 'running', 'rebooting'] as const satisfies readonly ServerStatus[];

/** A status in PROVISIONED_STATUSES. */
export type ProvisionedStatus = (typeof PROVISIONED_STATUSES)[number];

/** True when a server in `status` counts as provisioned. */
export function isProvisioned(status: ServerStatus): status is ProvisionedStatus {
  return (PROVISIONED_STATUSES as readonly ServerStatus[]).includes(status);
}

/**
 * The transitions a server may make, from each status. No transition leads from an unprovisioned status back
 * to a provisioned one, so only new servers (created by `ensure` and `increase`, which check the limits, or as
 * replacements up to the desired count) ever add to a provisioned count. `new` becomes `hanging` when it is never
 * created within its timeout; `running` and `rebooting` become `deleted` when the cloud no longer has the server
 * (drift); any server that still exists can be asked to go (`stopping`). A server the cloud has is drained first
 * (`draining`: its type's drain hook lets it finish its work) when the engine chooses to delete it (scale-in, a
 * rollout, the hang and error policy); a drain ends in `stopping`, or, when the type keeps undrained servers for a
 * person, `hanging` (its deadline passed) or `errored` (its hook threw).
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<ServerStatus, readonly ServerStatus[]>> = {
  new: ['starting', 'stopping', 'errored', 'hanging'],
  starting: ['running', 'draining', 'stopping', 'errored', 'hanging'],
  running: ['rebooting', 'draining', 'stopping', 'errored', 'hanging', 'deleted'],
  rebooting: ['running', 'draining', 'stopping', 'errored', 'hanging', 'deleted'],
  draining: ['stopping', 'errored', 'hanging'],
  stopping: ['stopped', 'deleting', 'errored', 'hanging'],
  stopped: ['stopping', 'deleting', 'errored'],
  deleting: ['deleted', 'errored', 'hanging'],
  deleted: [],
  errored: ['draining', 'stopping', 'deleting'],
  hanging: ['draining', 'stopping', 'deleting', 'errored'],
};

/** True when a server may go from `from` to `to`. */
export function canTransition(from: ServerStatus, to: ServerStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/**
 * True when a server no longer counts but the cloud may still have it (and bill it): errored or hanging with a
 * cloud id. Such servers stay under the type's `keep` policy for a person to look at, until deleted.
 */
export function lingers(server: { status: ServerStatus; providerId: string | null }): boolean {
  return (server.status === 'errored' || server.status === 'hanging') && server.providerId !== null;
}
