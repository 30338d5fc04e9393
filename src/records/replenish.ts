// Replacements: a type's desired count stands when its servers stop counting (they hung, errored, or vanished from
// the cloud), so new servers make up the difference, unless the type's creates are paused by its back-off.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ResolvedServerType } from './config.ts';
import { countLimits } from './count-change.ts';
import { createsPaused } from './create-backoff.ts';
import { bumpDesiredVersion, readTypeState } from './desired-state.ts';
import { noEffects, type Effects } from './effects.ts';
import { UnknownPriceError } from './errors.ts';
import { fitUnderLimits, type CountedLimit } from './limits.ts';
import { lockServerType } from './locks.ts';
import { chooseOffering } from './offerings.ts';
import { insertNewServers } from './server-writes.ts';
import type { ServerNaming } from './server-names.ts';

/** What one replenishment of a type did. */
export interface Replenishment {
  serverType: string;
  /** Servers created now (status `new`) to make up the desired count. */
  createdServerIds: number[];
  /** Servers still missing from the desired count (creates paused, or no room under a limit). */
  missing: number;
  /** When the type's paused creates resume; null when they are not paused. */
  createsPausedUntil: Date | null;
}

/** The limits `count` reads, or null when a budget needs a price nobody knows (a replacement waits for it). */
async function withKnownPrices(count: () => Promise<CountedLimit[]>): Promise<CountedLimit[] | null> {
  try {
    return await count();
  } catch (error) {
    if (error instanceof UnknownPriceError) return null;
    throw error;
  }
}

/**
 * Makes up the type's desired count in the caller's transaction under the type's lock: when fewer servers count
 * than the desired count, creates the difference on the type's first available offering (as far as the limits and
 * budgets allow, none while a budget needs an unknown price; no `limitHit` event, the change that set the count had its own) with their history rows and `creating` events, bumps the desired-state version and
 * wakes the workers. Creates nothing while the type's creates are paused. Safe to call at any time: with nothing
 * missing it writes nothing.
 */
export async function replenishServers(
  em: EntityManager,
  type: ResolvedServerType,
  naming: ServerNaming,
  now: Date,
): Promise<{ replenishment: Replenishment; effects: Effects }> {
  await lockServerType(em, type.name);
  const state = await readTypeState(em, type.name);
  const effects = noEffects();
  const paused = createsPaused(state, now);
  const replenishment: Replenishment = {
    serverType: type.name,
    createdServerIds: [],
    missing: Math.max(0, state.desiredCount - state.provisioned),
    createsPausedUntil: paused ? state.createsPausedUntil : null,
  };
  if (replenishment.missing === 0 || paused) return { replenishment, effects };
  const offering = await chooseOffering(em, type, now);
  const limits = await withKnownPrices(() => countLimits(em, type, state.provisioned, offering));
  const { allowed } = limits ? fitUnderLimits(replenishment.missing, limits, { serverType: type.name, provider: type.provider }) : { allowed: 0 };
  if (allowed === 0) return { replenishment, effects };
  const reason = `replaces servers that no longer count (${state.provisioned} of ${state.desiredCount} desired)`;
  const { servers, events } = await insertNewServers(em, type, allowed, offering, naming, reason, now);
  replenishment.createdServerIds = servers.map((server) => server.id);
  replenishment.missing -= allowed;
  effects.events.push(...events);
  effects.wake.push(type.name);
  await bumpDesiredVersion(em, type.name, state.version + 1, state.desiredCount, now);
  return { replenishment, effects };
}
