import type { DesiredStateEntity } from './entities/desired-state.ts';
import type { ServerAddresses, ServerEntity } from './entities/server.ts';
import type { ServerStatusChangeEntity } from './entities/server-status-change.ts';
import type { JsonObject } from './json.ts';
import type { ServerStatus } from './statuses.ts';

/** The last error recorded on a server. */
export interface ServerError {
  class: string;
  message: string;
  stack: string | null;
}

/** A server row as the API returns it: a plain object, detached from the database. */
export interface ServerRecord {
  id: number;
  name: string;
  serverType: string;
  provider: string;
  status: ServerStatus;
  statusUpdatedAt: Date;
  providerId: string | null;
  addresses: ServerAddresses;
  template: JsonObject;
  templateHash: string;
  meta: JsonObject;
  rebootRequestedAt: Date | null;
  /** When a verify pass claimed sending the current reboot to the cloud (see DynamicServers.claimReboot); null otherwise. */
  rebootSentAt: Date | null;
  /** While draining: when the drain ends at the latest (its hook may push it back, up to the type's cap); null otherwise. */
  drainDeadline: Date | null;
  /** While draining: when a process claimed running its drain hook; null before (and when the type has no hook). */
  drainClaimedAt: Date | null;
  /** For a rollout's replacement: the id of the server it replaces; null for any other server. */
  replacesServerId: number | null;
  /**
   * The offering of its template it runs on, or is to be created on (`small@local-2`): the first one available when
   * it was asked for, then the next whenever the cloud refused a create for capacity. Null for a type with one
   * unnamed offering.
   */
  offering: string | null;
  /** The offering's hourly price when it was chosen (money per hour, net of tax), or null when none was known. */
  hourlyPrice: number | null;
  lastError: ServerError | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One row of a server's status history. `from` is null for the row written when the server was created. */
export interface StatusChangeRecord {
  id: number;
  serverId: number;
  from: ServerStatus | null;
  to: ServerStatus;
  reason: string;
  changedAt: Date;
}

/** The desired-state document of a server type. `workRemains` is `version > appliedVersion`. */
export interface DesiredStateRecord {
  serverType: string;
  /**
   * How many provisioned servers the type should have (0 before the first change): set by every change as far as
   * the limits allow; servers that hang, error or vanish are replaced up to it, unless creates are paused.
   */
  desiredCount: number;
  /** Bumped by every change; 0 before the first. */
  version: number;
  /** The last version whose work the job layer reported finished. */
  appliedVersion: number;
  workRemains: boolean;
  updatedAt: Date | null;
  /** Creates of the type that hung or errored since one of its servers last reached running. */
  createFailures: number;
  /** The back-off after repeated failures: no server of the type is created before this time; null when none. */
  createsPausedUntil: Date | null;
}

/** The plain record of a server entity. */
export function toServerRecord(server: ServerEntity): ServerRecord {
  return {
    id: server.id,
    name: server.name,
    serverType: server.type,
    provider: server.provider,
    status: server.status,
    statusUpdatedAt: server.statusUpdatedAt,
    providerId: server.providerId ?? null,
    addresses: { ...server.addresses },
    template: structuredClone(server.template),
    templateHash: server.templateHash,
    meta: structuredClone(server.meta),
    rebootRequestedAt: server.rebootRequestedAt ?? null,
    rebootSentAt: server.rebootSentAt ?? null,
    drainDeadline: server.drainDeadline ?? null,
    drainClaimedAt: server.drainClaimedAt ?? null,
    replacesServerId: server.replacesServerId ?? null,
    offering: server.offering ?? null,
    hourlyPrice: server.hourlyPrice === null || server.hourlyPrice === undefined ? null : Number(server.hourlyPrice),
    lastError: server.lastErrorClass
      ? { class: server.lastErrorClass, message: server.lastErrorMessage ?? '', stack: server.lastErrorStack ?? null }
      : null,
    createdAt: server.createdAt,
    updatedAt: server.updatedAt,
  };
}

/** The plain record of a status change entity. */
export function toStatusChangeRecord(change: ServerStatusChangeEntity): StatusChangeRecord {
  return { id: change.id, serverId: change.server, from: change.fromStatus ?? null, to: change.toStatus, reason: change.reason, changedAt: change.changedAt };
}

/** The plain record of a desired-state entity, or the empty document of a type never changed. */
export function toDesiredStateRecord(serverType: string, state: DesiredStateEntity | null): DesiredStateRecord {
  if (!state) return { serverType, desiredCount: 0, version: 0, appliedVersion: 0, workRemains: false, updatedAt: null, createFailures: 0, createsPausedUntil: null };
  return {
    serverType,
    desiredCount: state.desiredCount,
    version: state.version,
    appliedVersion: state.appliedVersion,
    workRemains: state.version > state.appliedVersion,
    updatedAt: state.updatedAt,
    createFailures: state.createFailures,
    createsPausedUntil: state.createsPausedUntil ?? null,
  };
}
