// Replacements: a type's desired count stands when its servers stop counting (they hung, errored, or vanished from
// the cloud), so new servers make up the difference, unless the type's creates are paused by its back-off.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { ResolvedServerType } from './config.ts';
import { countLimits } from './count-change.ts';
import { createsPaused } from './create-backoff.ts';
import { bumpDesiredVersion, readTypeState } from './desired-state.ts';
import { noEffects, type Effects } from './effects.ts';
import { fitUnderLimits } from './limits.ts';
import { lockServerType } from './locks.ts';
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
 * than the desired count, creates the difference (as far as the limits allow; no `limitHit` event, the change that
 * set the count had its own) with their history rows and `creating` events, bumps the desired-state version and
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
  const limits = await countLimits(em, type, state.provisioned);
  const { allowed } = fitUnderLimits(replenishment.missing, limits, { serverType: type.name, provider: type.provider });
  if (allowed === 0) return { replenishment, effects };
  const reason = `replaces servers that no longer count (${state.provisioned} of ${state.desiredCount} desired)`;
  const { servers, events } = await insertNewServers(em, type, allowed, naming, reason, now);
  replenishment.createdServerIds = servers.map((server) => server.id);
  replenishment.missing -= allowed;
  effects.events.push(...events);
  effects.wake.push(type.name);
  await bumpDesiredVersion(em, type.name, state.version + 1, state.desiredCount, now);
  return { replenishment, effects };
}
