import type { EngineRecords } from '../records/engine-records.ts';
import { InvalidTransitionError } from '../records/errors.ts';
import type { ServerStatus } from '../records/statuses.ts';
import type { TypeTimeouts } from '../records/registry.ts';

/** The statuses a server can hang in, and which of the type's timeouts applies to each. */
const TIMEOUT_OF: Readonly<Partial<Record<ServerStatus, keyof TypeTimeouts>>> = {
  new: 'newSeconds',
  starting: 'bootSeconds',
  rebooting: 'bootSeconds',
  stopping: 'stopSeconds',
  deleting: 'deleteSeconds',
};

/** A server hang detection marked `hanging`: the status it hung in, since when, and the timeout it passed. */
export interface HungServer {
  id: number;
  name: string;
  serverType: string;
  hungIn: ServerStatus;
  /** When the server entered `hungIn`. */
  since: Date;
  timeoutSeconds: number;
}

/** Statuses hang detection watches. */
export const HANG_WATCHED_STATUSES = Object.keys(TIMEOUT_OF) as ServerStatus[];

/**
 * Marks `hanging` every server of the type that has been new (never created) longer than its new timeout, starting
 * or rebooting longer than its boot timeout, stopping longer than its stop timeout, or deleting longer than its
 * delete timeout (history row and `hanging` event; hanging servers are not counted as provisioned). Each goes
 * through EngineRecords.recordFailure, so the type's policy for hanging servers, the back-off of its creates and
 * the replacement of what counted follow. A server that moved on in the meantime is left alone. Returns the
 * servers marked, oldest record first.
 */
export async function markHangingServers(records: EngineRecords, type: { type: string; timeouts: TypeTimeouts }, now: Date = new Date()): Promise<HungServer[]> {
  const marked: HungServer[] = [];
  for (const server of await records.servers({ serverType: type.type, status: HANG_WATCHED_STATUSES })) {
    const timeout = TIMEOUT_OF[server.status];
    if (timeout === undefined) continue;
    const seconds = type.timeouts[timeout];
    if (now.getTime() - server.statusUpdatedAt.getTime() <= seconds * 1000) continue;
    try {
      const hung = await records.recordFailure(server.id, 'hanging', { reason: `still ${server.status} after the ${seconds} s timeout` }, { status: server.status, since: server.statusUpdatedAt });
      // Another pass (a verify job, housekeeping, another worker) may have marked it, or it moved on, since it was read.
      if (!hung) continue;
      marked.push({ id: server.id, name: server.name, serverType: server.serverType, hungIn: server.status, since: server.statusUpdatedAt, timeoutSeconds: seconds });
    } catch (error) {
      if (!(error instanceof InvalidTransitionError)) throw error;
    }
  }
  return marked;
}
