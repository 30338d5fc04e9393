import { prepared, type Transaction } from './sql.ts';
import { countBudget } from './budgets.ts';
import type { LimitHitPolicy, ResolvedServerType } from './config.ts';
import { createsPaused } from './create-backoff.ts';
import { countProvisionedOnProvider, PROVISIONED_SQL, TYPE_STATE_SQL, typeState, writeDesiredState, type TypeState } from './desired-state.ts';
import { retireServers } from './drain.ts';
import { noEffects, type Effects } from './effects.ts';
import { ServerLimitError } from './errors.ts';
import type { ServerRecord } from './records.ts';
import { fitUnderLimits, type CountedLimit, type LimitHit } from './limits.ts';
import { lockProvider, lockServerType } from './locks.ts';
import { resolvedServerType, SERVER_TYPE_SQL, typeMaximumSql } from './registry.ts';
import { chooseOffering, type ChosenOffering } from './offerings.ts';
import { splitProvisioned } from './replacements.ts';
import { selectServers, serversFromJson, serversJsonSql } from './server-rows.ts';
import { insertNewServers } from './server-writes.ts';
import type { ServerNaming } from './server-names.ts';
import { chooseVictims, type VictimStrategy } from './victims.ts';

/** What an `ensure`, `increase` or `decrease` did, as seen under the type's lock. */
export interface CountChange {
  serverType: string;
  /** Servers of the type that counted when the change began (provisioned, a rollout's replacements on their way aside). */
  before: number;
  /** Servers of the type that counted when it committed. */
  after: number;
  /** The type's desired count after the call: what `after` becomes once replacements and paused creates are made. */
  desiredCount: number;
  /** False when there was nothing to do (or a limit left no room): nothing was written. */
  changed: boolean;
  /** The type's desired-state version after the call (bumped when servers were created or stopped). */
  version: number;
  /** Servers created with status `new`. */
  createdServerIds: number[];
  /**
   * Servers taken away: each goes `draining` (the type's drain hook lets it finish its work) or, when the type has
   * no hook or the cloud never had it, on to `stopping`; the next update deletes it. A rollout's replacement on its
   * way for a server taken away goes with it.
   */
  stoppingServerIds: number[];
  /** The limit that cut the request short (policy `'emit'`), or null. */
  limitHit: LimitHit | null;
  /**
   * When the type's creates are paused by its back-off (see create-backoff.ts), the time they resume: the servers
   * this change wanted are created then (the desired count holds them). Null when nothing waits.
   */
  createsPausedUntil: Date | null;
}

/** The settings a count change runs with. */
export interface CountChangeSettings {
  type: ResolvedServerType;
  onLimitHit: LimitHitPolicy;
  victimStrategy: VictimStrategy;
  /** How its new servers are named. */
  naming: ServerNaming;
  /** Written on every history row of the change (e.g. `ensure(worker, 5)`). */
  reason: string;
}

/**
 * Takes the lock of the type's provider in `tx` (after the type's) when the provider has a limit or a budget, which
 * is when a change that adds servers of the type needs it; returns whether it did. Count changes run together (see
 * change-queue.ts) take it before the first one writes: one of them may need it, and a transaction that has written
 * rows must not wait for it then (another one holding it could be waiting for those rows).
 */
export function lockProviderWhenLimited(tx: Transaction, type: ResolvedServerType): boolean {
  if (type.providerMaximum === null && type.providerBudget === null) return false;
  lockProvider(tx, type.provider);
  return true;
}

/**
 * The limits new servers of `type` on `offering` count against, read in the caller's transaction under the type's
 * lock (taking the provider's lock when the provider has a limit or a budget): the type's own, with `provisioned`
 * servers, its provider's, the type's budget and its provider's budget. Throws UnknownPriceError when a budget
 * needs a price nobody knows.
 */
export async function countLimits(tx: Transaction, type: ResolvedServerType, provisioned: number, offering: ChosenOffering): Promise<CountedLimit[]> {
  const limits: CountedLimit[] = [];
  if (type.maximum !== null) limits.push({ scope: 'serverType', maximum: type.maximum, provisioned });
  let onProvider = 0;
  if (lockProviderWhenLimited(tx, type)) {
    onProvider = await countProvisionedOnProvider(tx, type.provider);
  }
  if (type.providerMaximum !== null) limits.push({ scope: 'provider', maximum: type.providerMaximum, provisioned: onProvider });
  if (type.budget !== null) limits.push(await countBudget(tx, type, 'serverType', provisioned, offering));
  if (type.providerBudget !== null) limits.push(await countBudget(tx, type, 'provider', onProvider, offering));
  return limits;
}

/**
 * The count a change aims at: `add` (ensure) or the type's desired count plus `add` (increase, decrease), never
 * below 0. Data rather than a function, so the read that opens the change can tell what it will need.
 */
export interface CountTarget {
  from: 'zero' | 'desiredCount';
  add: number;
}

/** The count `target` names for a type whose desired count is `desiredCount`. */
export function targetCount(target: CountTarget, desiredCount: number): number {
  return Math.max(0, (target.from === 'desiredCount' ? desiredCount : 0) + target.add);
}

/** What a count change of a type works with, read under its lock (see readTypeForChange). */
export interface ChangeBasis {
  /** Its configuration; undefined when it is not configured (never published, or retired). */
  type: ResolvedServerType | undefined;
  state: TypeState;
  /** Server ids taken from the sequence for the servers the target misses (see READ_CHANGE_BASIS; at most PREFETCHED_IDS). */
  reservedIds: number[];
  /** Its provisioned servers, oldest first, when the target is below the servers that count; null otherwise. */
  provisioned: ServerRecord[] | null;
}

/**
 * What a change of a type passes on to the next change of its turn (see changeServerCount): the basis that one would
 * read under the type's lock, which nothing else can change while the turn holds it (every write of a type's servers
 * and desired state takes that lock).
 */
export type CarriedBasis = Pick<ChangeBasis, 'state' | 'reservedIds' | 'provisioned'>;

/**
 * At most this many server ids are taken in the read that opens a change; a change that creates more takes the rest
 * in one more round trip. Ids taken but not used (a provider's limit or a budget let fewer servers be made) are
 * skipped, as those of a rolled-back change are.
 */
const PREFETCHED_IDS = 16;

/** The condition (on alias `s`, the type's name its parameter) of the type's provisioned servers. */
const PROVISIONED_OF_TYPE = `s."type" = ? and s."status" in (${PROVISIONED_SQL})`;

/**
 * The type's configuration (SERVER_TYPE_SQL) and state (TYPE_STATE_SQL) in one row, and what reaching the target
 * will need: ids to create with (as many as it misses, plus those the turn's later changes may create, within the
 * type's own limit, none while its creates are paused), or the servers to choose victims from (also when a later
 * change of the turn may take some away). `gap` is the target less the servers that count; `room`, what the type's
 * limit leaves.
 */
const READ_CHANGE_BASIS = prepared(
  `with t as (${SERVER_TYPE_SQL}), st as (${TYPE_STATE_SQL}), ` +
    `gap as (select greatest(0, case when ?::boolean then coalesce(st."desired_count", 0) else 0 end + ?::int) - (st."provisioned" - st."surplus") as n, ` +
    `(select ${typeMaximumSql('t')} from t) - st."provisioned" as room, ` +
    `coalesce(st."creates_paused_until" > now(), false) as paused from st) ` +
    `select t.*, st.*, ` +
    `(select json_agg(nextval(pg_get_serial_sequence('server', 'id'))) from gap, generate_series(1, least(?::int, greatest(gap.n, 0) + ?::int, gap.room)) where not gap.paused) as reserved_ids, ` +
    `case when (select n from gap) < 0 or ?::boolean then coalesce(${serversJsonSql(PROVISIONED_OF_TYPE)}, '[]'::json) end as provisioned_servers ` +
    `from st left join t on true`,
);

/** What the first change of a turn reads for the changes after it (see turnNeeds): none for a change alone. */
export interface TurnNeeds {
  /** Server ids the later changes may create (at most PREFETCHED_IDS in all are taken). */
  laterIds: number;
  /** Whether a later change may take servers away (it chooses them from the provisioned servers). */
  victimsLater: boolean;
}

const ALONE: TurnNeeds = { laterIds: 0, victimsLater: false };

/**
 * What the changes after the first of a turn (with `targets`, in order) may need beyond what the first does, as far
 * as their targets tell: the ids each may create, counted from the target of the change before it (all of its own
 * when that one was relative), and whether one may take servers away. An estimate: a change that finds too few ids
 * or no servers to choose from reads them itself (see changeServerCount), one more round trip.
 */
export function turnNeeds(targets: readonly CountTarget[]): TurnNeeds {
  let laterIds = 0;
  let victimsLater = false;
  // Whether every change so far had an absolute target, and the highest of them.
  let allAbsolute = true;
  let highest = 0;
  targets.forEach((target, index) => {
    const previous = targets[index - 1];
    if (previous && target.from === 'desiredCount') {
      laterIds += Math.max(0, target.add);
      victimsLater ||= target.add < 0;
    } else if (previous) {
      laterIds += previous.from === 'zero' ? Math.max(0, target.add - previous.add) : target.add;
      victimsLater ||= !allAbsolute || highest > target.add;
    }
    allAbsolute &&= target.from === 'zero';
    highest = Math.max(highest, target.add);
  });
  return { laterIds: Math.min(laterIds, PREFETCHED_IDS), victimsLater };
}

/** What a change of a type reads before it starts (see readTypesForChanges). */
export interface ChangeRead {
  serverType: string;
  target: CountTarget;
  /** What the changes after it in its turn may need; none by default. */
  turn?: TurnNeeds;
}

/**
 * Takes the lock of each type of `reads` in `tx`, all before any read and in the order of their names (so a
 * transaction that holds one type's lock never waits for one whose name sorts before it), then reads under them, in
 * one round trip, what a count change of each towards its target works with (see ChangeBasis), and what the changes
 * after it in its turn may need (see turnNeeds). Returns the bases in the order of `reads`.
 */
export async function readTypesForChanges(tx: Transaction, reads: readonly ChangeRead[]): Promise<ChangeBasis[]> {
  for (const name of [...new Set(reads.map((read) => read.serverType))].sort()) lockServerType(tx, name);
  const results = await tx.executeEach(
    reads.map(({ serverType, target, turn = ALONE }) => ({
      statement: READ_CHANGE_BASIS,
      params: [serverType, serverType, serverType, target.from === 'desiredCount', target.add, PREFETCHED_IDS, turn.laterIds, turn.victimsLater, serverType],
    })),
  );
  return results.map((rows) => {
    const row = rows[0] as { reserved_ids: (number | string)[] | null; provisioned_servers: unknown } | undefined;
    return {
      type: resolvedServerType(rows),
      state: typeState(rows),
      reservedIds: (row?.reserved_ids ?? []).map(Number),
      provisioned: row?.provisioned_servers === null || row?.provisioned_servers === undefined ? null : serversFromJson(row.provisioned_servers),
    };
  });
}

/**
 * Sets the type's desired count to `target` in the caller's transaction and brings the counted servers there, from
 * `basis` (read with `settings.type` under the type's lock, see readTypeForChange): creates servers on the type's
 * first available offering (under the limits and budgets, taking the provider's lock when it has one) or takes the
 * strategy's victims away (see retireServers: drained, then stopped; with the replacement a rollout was making for
 * one of them), writes the history rows and bumps the desired-state version. The target is taken from the desired
 * count, not from the servers that count right now, so servers that failed and wait for their replacement are not
 * asked for twice. While the type's creates are paused (its back-off), servers to create are only recorded in the
 * desired count and made when the pause ends. With policy `'throw'`, a request over a limit or a budget throws
 * ServerLimitError before anything is written. Returns what it did, its effects, and `basisAfter`: the basis the
 * next change of its turn starts from instead of reading it (see CarriedBasis).
 */
export async function changeServerCount(
  tx: Transaction,
  settings: CountChangeSettings,
  basis: CarriedBasis,
  target: CountTarget,
  now: Date,
): Promise<{ change: CountChange; effects: Effects; basisAfter: CarriedBasis }> {
  const { type, reason } = settings;
  // A rollout's replacement on its way counts only once the server it replaces leaves (see replacements.ts).
  const { state } = basis;
  const { counted, version } = state;
  const wanted = targetCount(target, state.desiredCount);
  const effects = noEffects();
  const change: CountChange = {
    serverType: type.name,
    before: counted,
    after: counted,
    desiredCount: state.desiredCount,
    changed: false,
    version,
    createdServerIds: [],
    stoppingServerIds: [],
    limitHit: null,
    createsPausedUntil: null,
  };

  let desiredCount = wanted;
  let { reservedIds, provisioned } = basis;
  let leaving: ServerRecord[] = [];
  if (wanted > counted) {
    const offering = await chooseOffering(tx, type, now);
    const limits = await countLimits(tx, type, state.provisioned, offering);
    const { allowed, hit } = fitUnderLimits(wanted - counted, limits, { serverType: type.name, provider: type.provider });
    if (hit && settings.onLimitHit === 'throw') throw new ServerLimitError({ ...hit, allowed: 0 });
    if (hit) {
      change.limitHit = hit;
      effects.events.push({ name: 'limitHit', payload: hit });
    }
    desiredCount = counted + allowed;
    if (allowed > 0 && createsPaused(state, now)) {
      change.createsPausedUntil = state.createsPausedUntil;
    } else if (allowed > 0) {
      change.version = version + 1;
      const { servers, events } = await insertNewServers(tx, type, allowed, offering, settings.naming, reason, now, [], basis.reservedIds);
      change.createdServerIds = servers.map((server) => server.id);
      reservedIds = reservedIds.slice(allowed);
      provisioned = provisioned && [...provisioned, ...servers].sort((a, b) => a.id - b.id);
      effects.events.unshift(...events);
    }
  } else if (wanted < counted) {
    const candidates = basis.provisioned ?? (await selectServers(tx, PROVISIONED_OF_TYPE, [type.name]));
    const split = splitProvisioned(candidates);
    const victims = await chooseVictims(settings.victimStrategy, split.counted, counted - wanted);
    change.version = version + 1;
    leaving = victims.flatMap((server) => [server, ...split.replacementsOf(server.id)]);
    const retired = await retireServers(tx, type.name, type.drain, leaving, reason, now);
    change.stoppingServerIds = leaving.map((server) => server.id);
    const left = new Set(change.stoppingServerIds);
    provisioned = candidates.filter((server) => !left.has(server.id));
    change.after -= victims.length;
    effects.events.push(...retired.effects.events);
  }
  if (change.version !== version || desiredCount !== state.desiredCount) {
    change.changed = true;
    change.desiredCount = desiredCount;
    if (change.version > version) effects.wake.push(type.name);
    change.after += change.createdServerIds.length;
    writeDesiredState(tx, type.name, desiredCount, change.version, now);
  }
  const stateAfter: TypeState = {
    ...state,
    provisioned: state.provisioned + change.createdServerIds.length - leaving.length,
    counted: change.after,
    desiredCount: change.desiredCount,
    version: change.version,
  };
  return { change, effects, basisAfter: { state: stateAfter, reservedIds, provisioned } };
}
