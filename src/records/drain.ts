// Draining: a server the engine chooses to delete (scale-in, a rollout, the hang and error policy) may still be
// doing work. It first goes `draining`, with a deadline; the type's drain hook (run by the engine, see
// src/engine/drain-runner.ts) lets it finish, may push the deadline back up to the type's cap, and ends the drain;
// then the server goes `stopping` and the next `pulumi up` deletes it. A drain that passes its deadline, or whose
// hook throws, ends as the type's `undrainedServers` policy says: deleted anyway, or kept for a person. A type
// without a hook drains at once. Every write here runs in the caller's transaction under the type's lock.
import type { Transaction } from './sql.ts';
import type { DrainSettings, FailurePolicy } from './config.ts';
import { noEffects, type Effects } from './effects.ts';
import { DrainEndedError } from './errors.ts';
import type { ServerError, ServerRecord } from './records.ts';
import { readServerLocked } from './server-rows.ts';
import { moveServers } from './server-writes.ts';

/** How a drain ended, as the engine reports it. */
export type DrainOutcome =
  /** The hook returned (the server finished its work), or there is no hook any more: `how` says which. */
  | { kind: 'drained'; how: string }
  /** The hook threw (or could not be loaded): its error is recorded on the server. */
  | { kind: 'failed'; error: ServerError }
  /** The deadline passed first. */
  | { kind: 'deadline' };

/** What ending a drain wrote: the server as written, or null when it had moved on (or its deadline was pushed back). */
export interface DrainEnd {
  server: ServerRecord | null;
  effects: Effects;
}

/** Drain fields cleared when a server leaves `draining`. */
const DRAIN_CLEARED = { drainDeadline: null, drainClaimedAt: null } as const;

/** The deadline a drain starting at `now` gets: the type's drain timeout, never beyond its cap. */
export function firstDrainDeadline(drain: DrainSettings, now: Date): Date {
  return new Date(now.getTime() + Math.min(drain.timeoutSeconds, drain.maxSeconds) * 1000);
}

/**
 * Takes `servers` (read under their type's lock, each allowed to go `draining` or `stopping`) out of the fleet for
 * `reason`: a server the cloud has goes `draining` with its first deadline, and on at once to `stopping` when the
 * type has no drain hook (its history still shows the drain); a server the cloud never had goes `stopping`. Wakes
 * the type's workers. Returns the servers as written, in the given order, with their events.
 */
export async function retireServers(
  tx: Transaction,
  serverType: string,
  drain: DrainSettings,
  servers: readonly ServerRecord[],
  reason: string,
  now: Date,
): Promise<{ servers: ServerRecord[]; effects: Effects }> {
  const effects = noEffects();
  if (servers.length === 0) return { servers: [], effects };
  const inCloud = servers.filter((server) => server.providerId !== null);
  const neverCreated = servers.filter((server) => server.providerId === null);
  const written = new Map<number, ServerRecord>();
  const record = (moved: { servers: ServerRecord[]; events: Effects['events'] }) => {
    for (const server of moved.servers) written.set(server.id, server);
    effects.events.push(...moved.events);
  };
  const draining = await moveServers(tx, inCloud, 'draining', reason, now, { drainDeadline: firstDrainDeadline(drain, now), drainClaimedAt: null });
  record(draining);
  if (drain.hook === null) record(await moveServers(tx, draining.servers, 'stopping', 'drained at once: the type has no drain hook', now, DRAIN_CLEARED));
  record(await moveServers(tx, neverCreated, 'stopping', reason, now));
  effects.wake.push(serverType);
  return { servers: servers.map((server) => written.get(server.id)!), effects };
}

/**
 * Claims running the drain hook of `serverId`, in one atomic statement: true when this caller did (the server is
 * draining and nobody claimed it), false otherwise. Only the winner calls the hook, so one process runs it.
 */
export async function claimDrain(tx: Transaction, serverId: number, now: Date): Promise<boolean> {
  const claimed = await tx.execute<{ id: string }[]>(
    `update "server" set "drain_claimed_at" = ?::timestamptz, "updated_at" = ?::timestamptz where "id" = ? and "status" = 'draining' and "drain_claimed_at" is null returning "id"`,
    [now, now, serverId],
  );
  return claimed.length === 1;
}

/** Gives back the claims of `serverIds` that are still draining (a process that stops hands its drains over). */
export async function releaseDrainClaims(tx: Transaction, serverIds: readonly number[], now: Date): Promise<number[]> {
  if (serverIds.length === 0) return [];
  const released = await tx.execute<{ id: string }[]>(
    `update "server" set "drain_claimed_at" = null, "updated_at" = ?::timestamptz where "id" in (?) and "status" = 'draining' and "drain_claimed_at" is not null returning "id"`,
    [now, [...serverIds]],
  );
  return released.map((row) => Number(row.id));
}

/**
 * Pushes the deadline of a draining server to `seconds` from now, but never beyond `maxSeconds` after its drain
 * began, and never earlier than it already is. Returns the deadline now in force. Throws DrainEndedError when the
 * server is no longer draining.
 */
export async function extendDrain(tx: Transaction, server: { id: number; serverType: string }, seconds: number, maxSeconds: number, now: Date): Promise<Date> {
  const current = await readServerLocked(tx, server);
  if (current.status !== 'draining' || current.drainDeadline === null) throw new DrainEndedError(`server ${current.name} is ${current.status}: its drain has ended`);
  const cap = current.statusUpdatedAt.getTime() + maxSeconds * 1000;
  const deadline = new Date(Math.max(current.drainDeadline.getTime(), Math.min(now.getTime() + seconds * 1000, cap)));
  if (deadline.getTime() !== current.drainDeadline.getTime()) {
    await tx.execute(`update "server" set "drain_deadline" = ?::timestamptz, "updated_at" = ?::timestamptz where "id" = ?`, [deadline, now, current.id]);
  }
  return deadline;
}

/**
 * Ends the drain of `server` with `outcome`, when it is still the drain that began at `since` (otherwise, or when
 * a `deadline` outcome finds the deadline pushed back, nothing is written and server is null). Drained: `stopping`.
 * A hook that failed (its error recorded on the server) or a passed deadline: `stopping` under policy `delete`,
 * and under `keep` the server stays in the cloud for a person, `errored` (the hook failed) or `hanging` (the
 * deadline passed); `list` marks it, and `dynamic-servers delete` removes it.
 */
export async function endDrain(
  tx: Transaction,
  server: { id: number; serverType: string },
  outcome: DrainOutcome,
  policy: FailurePolicy,
  since: Date,
  now: Date,
): Promise<DrainEnd> {
  const current = await readServerLocked(tx, server);
  if (current.status !== 'draining' || current.statusUpdatedAt.getTime() !== since.getTime()) return { server: null, effects: noEffects() };
  if (outcome.kind === 'deadline' && current.drainDeadline !== null && current.drainDeadline.getTime() > now.getTime()) return { server: null, effects: noEffects() };
  const effects = noEffects();
  const what = outcome.kind === 'failed' ? `the drain hook threw ${outcome.error.class}` : `still draining at its deadline ${current.drainDeadline?.toISOString() ?? ''}`;
  const [to, reason] =
    outcome.kind === 'drained'
      ? (['stopping', `drained: ${outcome.how}`] as const)
      : policy === 'delete'
        ? (['stopping', `${what}; deleted anyway (undrainedServers: delete)`] as const)
        : ([outcome.kind === 'failed' ? 'errored' : 'hanging', `${what}; kept for a person (undrainedServers: keep)`] as const);
  const moved = await moveServers(tx, [current], to, reason, now, { ...DRAIN_CLEARED, ...(outcome.kind === 'failed' ? { lastError: outcome.error } : {}) });
  effects.events.push(...moved.events);
  if (to === 'stopping') effects.wake.push(server.serverType);
  return { server: moved.servers[0]!, effects };
}
