// A person's request to delete one server: a kept hanging or errored one after looking at it, or any other.
import type { Transaction } from './sql.ts';
import { PROVISIONED_SQL, readTypeState, writeDesiredState } from './desired-state.ts';
import { retireServers } from './drain.ts';
import { noEffects, type Effects } from './effects.ts';
import type { ServerRecord } from './records.ts';
import { DEFAULT_TYPE_SETTINGS, resolveServerType } from './registry.ts';
import { readServerLocked, selectServers } from './server-rows.ts';
import { moveServers } from './server-writes.ts';
import { isProvisioned } from './statuses.ts';

/** What `delete(server)` did. */
export interface DeleteRequest {
  /** The server as written (or as found, when nothing changed). */
  server: ServerRecord;
  /** False when the server was already being deleted or gone: nothing was written. */
  changed: boolean;
  /** True when the server counted: the type's desired count went down by one with it (no replacement is made). */
  counted: boolean;
  /** The type's desired count after the call. */
  desiredCount: number;
}

/** The history reason of a person's delete. */
const REASON = 'deleted on request';

/** Statuses of servers already on their way out of the cloud, or gone. */
const LEAVING = new Set(['stopping', 'deleting', 'deleted']);

/**
 * Asks for `server` to be deleted, in the caller's transaction under its type's lock. A server that counted is
 * taken away as a decrease that chooses its victim would take it (history row `deleted on request`): drained first
 * when the cloud has it (see retireServers), with the replacement a rollout was making for it, and one off the
 * type's desired count (no replacement is made). Any other server (a hanging or errored one kept for a person, one
 * being drained) goes straight to `stopping`, so the next `pulumi up` deletes it from the cloud. Its row keeps its
 * history and last error. A server already stopping, deleting or deleted is left as it is. Throws
 * ServerRecordNotFoundError.
 */
export async function deleteServer(tx: Transaction, server: { id: number; serverType: string }, now: Date): Promise<{ request: DeleteRequest; effects: Effects }> {
  const current = await readServerLocked(tx, server);
  const state = await readTypeState(tx, server.serverType);
  const effects = noEffects();
  if (LEAVING.has(current.status)) return { request: { server: current, changed: false, counted: false, desiredCount: state.desiredCount }, effects };
  const provisioned = isProvisioned(current.status);
  const counted = provisioned && (current.replacesServerId === null || !(await isProvisionedServer(tx, current.replacesServerId)));
  const desiredCount = counted ? Math.max(0, state.desiredCount - 1) : state.desiredCount;
  let written: ServerRecord;
  if (provisioned) {
    const replacements = counted ? await selectServers(tx, `s."replaces_server_id" = ? and s."status" in (${PROVISIONED_SQL})`, [current.id]) : [];
    const type = await resolveServerType(tx, server.serverType);
    const retired = await retireServers(tx, server.serverType, type?.drain ?? DEFAULT_TYPE_SETTINGS.drain, [current, ...replacements], REASON, now);
    effects.events.push(...retired.effects.events);
    written = retired.servers[0]!;
  } else {
    const moved = await moveServers(tx, [current], 'stopping', REASON, now, { drainDeadline: null, drainClaimedAt: null });
    effects.events.push(...moved.events);
    written = moved.servers[0]!;
  }
  effects.wake.push(server.serverType);
  writeDesiredState(tx, server.serverType, desiredCount, state.version + 1, now);
  return { request: { server: written, changed: true, counted, desiredCount }, effects };
}

/** True when server `serverId` is provisioned (read in the caller's transaction). */
async function isProvisionedServer(tx: Transaction, serverId: number): Promise<boolean> {
  const [server] = await selectServers(tx, 's."id" = ?', [serverId]);
  return server !== undefined && isProvisioned(server.status);
}
