import type { Transaction } from './sql.ts';
import { countBudget } from './budgets.ts';
import type { LimitHitPolicy, ResolvedServerType } from './config.ts';
import { createsPaused } from './create-backoff.ts';
import { countProvisionedOnProvider, PROVISIONED_SQL, readTypeState, writeDesiredState } from './desired-state.ts';
import { retireServers } from './drain.ts';
import { noEffects, type Effects } from './effects.ts';
import { ServerLimitError } from './errors.ts';
import { fitUnderLimits, type CountedLimit, type LimitHit } from './limits.ts';
import { lockProvider, lockServerType } from './locks.ts';
import { chooseOffering, type ChosenOffering } from './offerings.ts';
import { splitProvisioned } from './replacements.ts';
import { selectServers } from './server-rows.ts';
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
 * The limits new servers of `type` on `offering` count against, read in the caller's transaction under the type's
 * lock (taking the provider's lock when the provider has a limit or a budget): the type's own, with `provisioned`
 * servers, its provider's, the type's budget and its provider's budget. Throws UnknownPriceError when a budget
 * needs a price nobody knows.
 */
export async function countLimits(tx: Transaction, type: ResolvedServerType, provisioned: number, offering: ChosenOffering): Promise<CountedLimit[]> {
  const limits: CountedLimit[] = [];
  if (type.maximum !== null) limits.push({ scope: 'serverType', maximum: type.maximum, provisioned });
  let onProvider = 0;
  if (type.providerMaximum !== null || type.providerBudget !== null) {
    lockProvider(tx, type.provider);
    onProvider = await countProvisionedOnProvider(tx, type.provider);
  }
  if (type.providerMaximum !== null) limits.push({ scope: 'provider', maximum: type.providerMaximum, provisioned: onProvider });
  if (type.budget !== null) limits.push(await countBudget(tx, type, 'serverType', provisioned, offering));
  if (type.providerBudget !== null) limits.push(await countBudget(tx, type, 'provider', onProvider, offering));
  return limits;
}

/**
 * Sets the type's desired count to `target(desired count)` in the caller's transaction and brings the counted
 * servers there: takes the type's lock (the caller read `settings.type` under it), counts, then creates servers on the type's first available offering (under
 * the limits and budgets, taking the provider's lock when it has one) or takes the strategy's victims away (see
 * retireServers: drained, then stopped; with the replacement a rollout was making for one of them), writes the
 * history rows and bumps the desired-state version. The target is taken from the desired count, not from the
 * servers that count right now, so servers that failed and wait for their replacement are not asked for twice.
 * While the type's creates are
 * paused (its back-off), servers to create are only recorded in the desired count and made when the pause ends.
 * With policy `'throw'`, a request over a limit or a budget throws ServerLimitError before anything is written.
 */
export async function changeServerCount(
  tx: Transaction,
  settings: CountChangeSettings,
  target: (desiredCount: number) => number,
  now: Date,
): Promise<{ change: CountChange; effects: Effects }> {
  const { type, reason } = settings;
  lockServerType(tx, type.name);
  const state = await readTypeState(tx, type.name);
  // A rollout's replacement on its way counts only once the server it replaces leaves (see replacements.ts).
  const { counted, version } = state;
  const wanted = target(state.desiredCount);
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
      const { servers, events } = await insertNewServers(tx, type, allowed, offering, settings.naming, reason, now);
      change.createdServerIds = servers.map((server) => server.id);
      effects.events.unshift(...events);
    }
  } else if (wanted < counted) {
    const split = splitProvisioned(await selectServers(tx, `s."type" = ? and s."status" in (${PROVISIONED_SQL})`, [type.name]));
    const victims = await chooseVictims(settings.victimStrategy, split.counted, counted - wanted);
    change.version = version + 1;
    const leaving = victims.flatMap((server) => [server, ...split.replacementsOf(server.id)]);
    const retired = await retireServers(tx, type.name, type.drain, leaving, reason, now);
    change.stoppingServerIds = leaving.map((server) => server.id);
    change.after -= victims.length;
    effects.events.push(...retired.effects.events);
  }
  if (change.version === version && desiredCount === state.desiredCount) return { change, effects };

  change.changed = true;
  change.desiredCount = desiredCount;
  if (change.version > version) effects.wake.push(type.name);
  change.after += change.createdServerIds.length;
  writeDesiredState(tx, type.name, desiredCount, change.version, now);
  return { change, effects };
}
