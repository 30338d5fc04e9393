import type { EntityManager } from '@mikro-orm/postgresql';
import type { LimitHitPolicy, ResolvedServerType } from './config.ts';
import { countProvisionedOnProvider, PROVISIONED_SQL, readTypeState, writeDesiredState } from './desired-state.ts';
import { noEffects, type Effects } from './effects.ts';
import { ServerLimitError } from './errors.ts';
import { fitUnderLimits, type CountedLimit, type LimitHit } from './limits.ts';
import { lockProvider, lockServerType } from './locks.ts';
import { selectServers } from './server-rows.ts';
import { insertNewServers, moveServers } from './server-writes.ts';
import type { ServerNameAction } from './server-names.ts';
import { chooseVictims, type VictimStrategy } from './victims.ts';

/** What an `ensure`, `increase` or `decrease` did, as seen under the type's lock. */
export interface CountChange {
  serverType: string;
  /** Provisioned servers of the type when the change began. */
  before: number;
  /** Provisioned servers of the type when it committed. */
  after: number;
  /** False when there was nothing to do (or a limit left no room): nothing was written. */
  changed: boolean;
  /** The type's desired-state version after the call (bumped only when `changed`). */
  version: number;
  /** Servers created with status `new`. */
  createdServerIds: number[];
  /** Servers moved to `stopping`. */
  stoppingServerIds: number[];
  /** The limit that cut the request short (policy `'emit'`), or null. */
  limitHit: LimitHit | null;
}

/** The settings a count change runs with. */
export interface CountChangeSettings {
  type: ResolvedServerType;
  onLimitHit: LimitHitPolicy;
  victimStrategy: VictimStrategy;
  serverName: ServerNameAction;
  /** The installation id the name action is told. */
  installation: string;
  /** Written on every history row of the change (e.g. `ensure(worker, 5)`). */
  reason: string;
}

/**
 * Brings the type's provisioned count to `target(current)` in the caller's transaction: takes the type's lock,
 * counts, then creates servers (under the limits, taking the provider's lock when it has a limit) or moves the
 * strategy's victims to `stopping`, writes the history rows and bumps the desired-state version. With policy
 * `'throw'`, a request over a limit throws ServerLimitError before anything is written.
 */
export async function changeServerCount(
  em: EntityManager,
  settings: CountChangeSettings,
  target: (provisioned: number) => number,
  now: Date,
): Promise<{ change: CountChange; effects: Effects }> {
  const { type, reason } = settings;
  await lockServerType(em, type.name);
  const { provisioned, version } = await readTypeState(em, type.name);
  const wanted = target(provisioned);
  const effects = noEffects();
  const change: CountChange = {
    serverType: type.name,
    before: provisioned,
    after: provisioned,
    changed: false,
    version,
    createdServerIds: [],
    stoppingServerIds: [],
    limitHit: null,
  };

  if (wanted > provisioned) {
    const limits: CountedLimit[] = [];
    if (type.maximum !== null) limits.push({ scope: 'serverType', maximum: type.maximum, provisioned });
    if (type.providerMaximum !== null) {
      await lockProvider(em, type.provider);
      limits.push({ scope: 'provider', maximum: type.providerMaximum, provisioned: await countProvisionedOnProvider(em, type.provider) });
    }
    const { allowed, hit } = fitUnderLimits(wanted - provisioned, limits, { serverType: type.name, provider: type.provider });
    if (hit && settings.onLimitHit === 'throw') throw new ServerLimitError({ ...hit, allowed: 0 });
    if (hit) {
      change.limitHit = hit;
      effects.events.push({ name: 'limitHit', payload: hit });
    }
    if (allowed === 0) return { change, effects };
    change.version = version + 1;
    const { servers, events } = await insertNewServers(em, type, allowed, settings.serverName, settings.installation, reason, now);
    change.createdServerIds = servers.map((server) => server.id);
    effects.events.unshift(...events);
  } else if (wanted < provisioned) {
    const candidates = await selectServers(em, `s."type" = ? and s."status" in (${PROVISIONED_SQL})`, [type.name]);
    const victims = chooseVictims(settings.victimStrategy, candidates, provisioned - wanted);
    change.version = version + 1;
    const { events } = await moveServers(em, victims, 'stopping', reason, now);
    change.stoppingServerIds = victims.map((server) => server.id);
    effects.events.push(...events);
  } else {
    return { change, effects };
  }

  change.changed = true;
  effects.wake.push(type.name);
  change.after = provisioned + change.createdServerIds.length - change.stoppingServerIds.length;
  await writeDesiredState(em, type.name, change.after, change.version, now);
  return { change, effects };
}
