// Servers that stop counting against the engine's will: they hung, errored, vanished from the cloud, or the cloud
// stopped them. Each is recorded in one transaction under the type's lock together with what follows from it: the
// type's policy for failed servers, the back-off of its creates, and the replacement the desired count asks for.
import type { Transaction } from './sql.ts';
import type { ResolvedServerType } from './config.ts';
import { countCreateFailure } from './create-backoff.ts';
import { retireServers } from './drain.ts';
import { noEffects, type Effects } from './effects.ts';
import type { ServerRecord } from './records.ts';
import { DEFAULT_TYPE_SETTINGS, resolveServerType } from './registry.ts';
import { haltRolloutOnFailure } from './rollout.ts';
import { replenishServers } from './replenish.ts';
import type { ServerNaming } from './server-names.ts';
import { readServerLocked } from './server-rows.ts';
import { moveServers } from './server-writes.ts';
import { isProvisioned, type ServerStatus } from './statuses.ts';
import { transitionServer, type ValidTransitionDetails } from './transitions.ts';

/** The statuses a failure ends a server in. */
export type FailureStatus = 'hanging' | 'errored';

/** A server as these writes find it. */
interface ServerRef {
  id: number;
  serverType: string;
}

/** The status a caller saw a server in, and since when: a failure judged on that view applies only while it holds. */
export interface SeenStatus {
  status: ServerStatus;
  since: Date;
}

/** What one of these writes did: the server as written (null when it was left alone), and its effects. */
export interface FailureOutcome {
  server: ServerRecord | null;
  effects: Effects;
}

/** Replaces what no longer counts (see replenishServers), adding its effects to `effects`. */
async function replenish(tx: Transaction, type: ResolvedServerType | undefined, naming: ServerNaming, now: Date, effects: Effects): Promise<void> {
  if (!type) return;
  const { effects: more } = await replenishServers(tx, type, naming, now);
  effects.events.push(...more.events);
  effects.wake.push(...more.wake);
}

/** True when a failure moving a server out of `from` to `to` is a failed create, counted by the back-off. */
function isFailedCreate(from: ServerStatus, to: FailureStatus): boolean {
  // A server that hung in `new` was never handed to the cloud (the engine was down or busy): not the cloud's failure.
  return from === 'starting' || (from === 'new' && to === 'errored');
}

/**
 * Moves `server` to `to` (hanging or errored) with `details`, then, in the same transaction under the type's lock:
 * - when the server counted and the cloud has it (a provider id), applies the type's policy (`hangingServers` or
 *   `erroredServers`): `delete` drains it and then moves it on to `stopping` (see retireServers), so an update
 *   deletes it from the cloud, and `keep` leaves it for a person to look at; the row keeps its history and error;
 * - a failed create (it hung or errored while starting, or its create was refused) counts towards the type's
 *   back-off, and fires `backingOff` when it starts or extends a pause; one made by the type's rollout (a
 *   replacement, or a server of the newest template while older ones still count) also halts the rollout
 *   (`rolloutHalted`, see rollout.ts);
 * - when the server counted, a replacement is created unless the type's creates are paused.
 * With `seen`, the failure was judged on an earlier read (a timeout, an update's result): when the server has left
 * that status, or entered it again since, it is left alone (server null). Throws ServerRecordNotFoundError or
 * InvalidTransitionError (nothing written).
 */
export async function recordServerFailure(
  tx: Transaction,
  server: ServerRef,
  to: FailureStatus,
  details: ValidTransitionDetails,
  naming: ServerNaming,
  now: Date,
  seen?: SeenStatus,
): Promise<FailureOutcome> {
  const current = await readServerLocked(tx, server);
  if (seen && (current.status !== seen.status || current.statusUpdatedAt.getTime() !== seen.since.getTime())) return { server: null, effects: noEffects() };
  const from = current.status;
  const moved = await transitionServer(tx, server, to, details, now);
  const { effects } = moved;
  let record = moved.server;
  const type = await resolveServerType(tx, server.serverType);
  const policyKey = to === 'hanging' ? 'hangingServers' : 'erroredServers';
  if ((type?.[policyKey] ?? 'delete') === 'delete' && record.providerId !== null && isProvisioned(from)) {
    const reason = `the type's policy deletes ${to} servers (${policyKey}: delete)`;
    const retired = await retireServers(tx, server.serverType, type?.drain ?? DEFAULT_TYPE_SETTINGS.drain, [record], reason, now);
    effects.events.push(...retired.effects.events);
    effects.wake.push(...retired.effects.wake);
    record = retired.servers[0]!;
  }
  if (isFailedCreate(from, to)) {
    const backoff = await countCreateFailure(tx, server.serverType, now);
    if (backoff) effects.events.push({ name: 'backingOff', payload: backoff });
    const detail = `${details.reason}${details.error ? ` (${details.error.class}: ${details.error.message.split('\n', 1)[0]})` : ''}`;
    const halt = await haltRolloutOnFailure(tx, type, current, from, to, detail, now);
    if (halt) effects.events.push({ name: 'rolloutHalted', payload: halt });
  }
  if (isProvisioned(from)) await replenish(tx, type, naming, now, effects);
  return { server: record, effects };
}

/**
 * Records that the cloud no longer has `server` (it answered not found for a running or rebooting server: deleted
 * outside the engine): `deleted` with `reason`, and a replacement unless the type's creates are paused, in one
 * transaction under the type's lock. A server no longer running or rebooting is left alone (server null): the
 * engine moved it on meanwhile. Throws ServerRecordNotFoundError.
 */
export async function recordServerGone(tx: Transaction, server: ServerRef, reason: string, naming: ServerNaming, now: Date): Promise<FailureOutcome> {
  const current = await readServerLocked(tx, server);
  if (current.status !== 'running' && current.status !== 'rebooting') return { server: null, effects: noEffects() };
  const effects = noEffects();
  const gone = await moveServers(tx, [current], 'deleted', reason, now);
  effects.events.push(...gone.events);
  await replenish(tx, await resolveServerType(tx, server.serverType), naming, now, effects);
  return { server: gone.servers[0]!, effects };
}

/**
 * Replaces a running `server` the cloud reports stopped: moves it to `stopping` with `reason` (the next `pulumi
 * up` deletes it) and creates a replacement unless the type's creates are paused, in one transaction under the
 * type's lock. A server no longer running is left alone (server null). Throws ServerRecordNotFoundError.
 */
export async function replaceStoppedServer(tx: Transaction, server: ServerRef, reason: string, naming: ServerNaming, now: Date): Promise<FailureOutcome> {
  const current = await readServerLocked(tx, server);
  if (current.status !== 'running') return { server: null, effects: noEffects() };
  const effects = noEffects();
  const stopping = await moveServers(tx, [current], 'stopping', reason, now);
  effects.events.push(...stopping.events);
  effects.wake.push(server.serverType);
  await replenish(tx, await resolveServerType(tx, server.serverType), naming, now, effects);
  return { server: stopping.servers[0]!, effects };
}
