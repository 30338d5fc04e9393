// Replacements: a type's desired count stands when its servers stop counting (they hung, errored, or vanished from
// the cloud), so new servers make up the difference, unless the type's creates are paused by its back-off. The
// number comes from the rollout's plan (rollout.ts), which also keeps a type with a rollout policy within maxSurge.
import type { Transaction } from './sql.ts';
import type { ResolvedServerType } from './config.ts';
import { createsPaused } from './create-backoff.ts';
import { bumpDesiredVersion, readTypeState } from './desired-state.ts';
import { noEffects, type Effects } from './effects.ts';
import { lockServerType } from './locks.ts';
import { missingServersReason, planRollout } from './rollout.ts';
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

/**
 * Makes up the type's desired count in the caller's transaction under the type's lock: when fewer servers count
 * than the desired count, creates the difference on the type's first available offering (as far as the limits and
 * budgets allow, none while a budget needs an unknown price, and for a type with a rollout policy as far as maxSurge
 * allows; no `limitHit` event, the change that set the count had its own) with their history rows and `creating`
 * events, bumps the desired-state version and wakes the workers. Creates nothing while the type's creates are
 * paused. Safe to call at any time: with nothing missing it writes nothing.
 */
export async function replenishServers(
  tx: Transaction,
  type: ResolvedServerType,
  naming: ServerNaming,
  now: Date,
): Promise<{ replenishment: Replenishment; effects: Effects }> {
  lockServerType(tx, type.name);
  const state = await readTypeState(tx, type.name);
  const { missingWanted, missing, offering } = await planRollout(tx, type, now);
  const effects = noEffects();
  const replenishment: Replenishment = {
    serverType: type.name,
    createdServerIds: [],
    missing: missingWanted,
    createsPausedUntil: createsPaused(state, now) ? state.createsPausedUntil : null,
  };
  if (missing === 0) return { replenishment, effects };
  const { servers, events } = await insertNewServers(tx, type, missing, offering, naming, missingServersReason(state), now);
  replenishment.createdServerIds = servers.map((server) => server.id);
  replenishment.missing -= missing;
  effects.events.push(...events);
  effects.wake.push(type.name);
  bumpDesiredVersion(tx, type.name, state.version + 1, state.desiredCount, now);
  return { replenishment, effects };
}
