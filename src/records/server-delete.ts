// A person's request to delete one server: a kept hanging or errored one after looking at it, or any other.
import type { EntityManager } from '@mikro-orm/postgresql';
import { readTypeState, writeDesiredState } from './desired-state.ts';
import { noEffects, type Effects } from './effects.ts';
import type { ServerRecord } from './records.ts';
import { readServerLocked } from './server-rows.ts';
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

/** Statuses of servers already on their way out of the cloud, or gone. */
const LEAVING = new Set(['stopping', 'deleting', 'deleted']);

/**
 * Asks for `server` to be deleted, in the caller's transaction under its type's lock: it moves to `stopping`
 * (history row `deleted on request`, `stopping` event, a wake-up), so the next `pulumi up` deletes it from the
 * cloud; its row keeps its history and last error. A server that counted takes one off the type's desired count, as
 * a decrease that chooses its victim would. A server already stopping, deleting or deleted is left as it is.
 * Throws ServerRecordNotFoundError.
 */
export async function deleteServer(em: EntityManager, server: { id: number; serverType: string }, now: Date): Promise<{ request: DeleteRequest; effects: Effects }> {
  const current = await readServerLocked(em, server);
  const state = await readTypeState(em, server.serverType);
  const effects = noEffects();
  if (LEAVING.has(current.status)) return { request: { server: current, changed: false, counted: false, desiredCount: state.desiredCount }, effects };
  const counted = isProvisioned(current.status);
  const desiredCount = counted ? Math.max(0, state.desiredCount - 1) : state.desiredCount;
  const moved = await moveServers(em, [current], 'stopping', 'deleted on request', now);
  effects.events.push(...moved.events);
  effects.wake.push(server.serverType);
  await writeDesiredState(em, server.serverType, desiredCount, state.version + 1, now);
  return { request: { server: moved.servers[0]!, changed: true, counted, desiredCount }, effects };
}
