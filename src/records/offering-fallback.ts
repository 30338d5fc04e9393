// A server the cloud has no room for moves on to the next offering of its template: the offering it was refused on is
// skipped by every worker for a while (Karpenter remembers such an offering for 3 minutes), and with no offering
// left the server is errored with InsufficientCapacityError like any refused create. Each move is one transaction
// under the type's lock (and its provider's when the provider has a budget), so budgets hold across a move.
import type { Transaction } from './sql.ts';
import { budgetRoom } from './budgets.ts';
import type { ResolvedServerType } from './config.ts';
import { noEffects } from './effects.ts';
import { lockProvider } from './locks.ts';
import { markOfferingUnavailable, offeringPrice, unavailableOfferings } from './offerings.ts';
import type { ServerError } from './records.ts';
import { resolveServerType } from './registry.ts';
import { recordServerFailure, type FailureOutcome, type SeenStatus } from './server-failures.ts';
import type { ServerNaming } from './server-names.ts';
import { readServerLocked } from './server-rows.ts';

/** What the `offeringUnavailable` event carries: an offering the cloud refused a create on for capacity. */
export interface OfferingUnavailable {
  serverType: string;
  provider: string;
  offering: string;
  /** Every worker skips the offering until then. */
  until: Date;
  /** The cloud's refusal. */
  reason: string;
  /** The server whose create was refused, and the offering it moved on to (null: none left, it is errored). */
  serverId: number;
  movedTo: string | null;
}

/** What a move off an offering did: the server as written (null when left alone), and the offering it is on now. */
export interface OfferingMove extends FailureOutcome {
  /** The offering the server moved on to; null when it did not move (none left: errored; or left alone). */
  movedTo: string | null;
}

/** The next offering of `offerings` after `current` that is not unavailable and fits the budgets with its price, or null. */
async function nextOffering(
  tx: Transaction,
  type: ResolvedServerType,
  server: { id: number; offering: string },
  offerings: readonly string[],
  unavailable: ReadonlySet<string>,
): Promise<{ name: string; hourlyPrice: number | null } | null> {
  for (const name of offerings.slice(offerings.indexOf(server.offering) + 1)) {
    if (unavailable.has(name)) continue;
    const hourlyPrice = await offeringPrice(tx, type, name);
    if (await fitsBudgets(tx, type, server.id, hourlyPrice)) return { name, hourlyPrice };
  }
  return null;
}

/** True when server `serverId` at `price` fits the budgets of `type` (counted without its current price). */
async function fitsBudgets(tx: Transaction, type: ResolvedServerType, serverId: number, price: number | null): Promise<boolean> {
  const budgets = [
    ...(type.budget === null ? [] : [{ of: { serverType: type.name }, perHour: type.budget }]),
    ...(type.providerBudget === null ? [] : [{ of: { provider: type.provider }, perHour: type.providerBudget }]),
  ];
  for (const budget of budgets) {
    if (price === null) return false;
    const counted = await budgetRoom(tx, budget.of, budget.perHour, price, serverId);
    if (counted.unpriced > 0 || counted.room < 1) return false;
  }
  return true;
}

/**
 * Moves a server waiting to be created (status `new`, no provider id, on a named offering) off its offering, in the
 * caller's transaction, taking the type's lock (and its provider's when the provider has a budget). With `refusal`
 * (the cloud refused its create for capacity), its offering is first marked unavailable for the type's
 * `unavailableOfferingSeconds` (`offeringUnavailable` event); without, the server moves only when its offering is
 * marked unavailable now. It moves to the next offering of `offerings` (those of its own template, in order) after
 * its own that is not marked unavailable and fits the budgets, taking that offering's price; with none left it is
 * errored with InsufficientCapacityError (see recordServerFailure: a failed create, counted by the back-off, and
 * replaced). Left alone (server null) when it is no longer in the `seen` status, has a provider id or no offering.
 */
export async function moveToNextOffering(
  tx: Transaction,
  ref: { id: number; serverType: string },
  offerings: readonly string[],
  naming: ServerNaming,
  now: Date,
  seen: SeenStatus,
  refusal?: ServerError,
): Promise<OfferingMove> {
  const current = await readServerLocked(tx, ref);
  const untouched: OfferingMove = { server: null, effects: noEffects(), movedTo: null };
  const moved = current.status !== seen.status || current.statusUpdatedAt.getTime() !== seen.since.getTime();
  if (moved || current.status !== 'new' || current.providerId !== null || current.offering === null) return untouched;
  const type = await resolveServerType(tx, ref.serverType);
  if (!type) return untouched;
  if (type.providerBudget !== null) lockProvider(tx, type.provider);
  const effects = noEffects();
  let unavailable = await unavailableOfferings(tx, current.provider, now);
  let until: Date | null = null;
  if (refusal) {
    until = await markOfferingUnavailable(tx, current.provider, current.offering, new Date(now.getTime() + type.unavailableOfferingSeconds * 1000), refusal.message, now);
    unavailable = new Set([...unavailable, current.offering]);
  } else if (!unavailable.has(current.offering)) {
    return untouched;
  }
  const next = await nextOffering(tx, type, { id: current.id, offering: current.offering }, offerings, unavailable);
  if (until) {
    const payload: OfferingUnavailable = { serverType: type.name, provider: current.provider, offering: current.offering, until, reason: refusal!.message, serverId: current.id, movedTo: next?.name ?? null };
    effects.events.push({ name: 'offeringUnavailable', payload });
  }
  if (next) {
    await tx.execute('update "server" set "offering" = ?, "hourly_price" = ?::numeric, "updated_at" = ?::timestamptz where "id" = ?', [next.name, next.hourlyPrice, now, current.id]);
    effects.wake.push(type.name);
    return { server: { ...current, offering: next.name, hourlyPrice: next.hourlyPrice, updatedAt: now }, effects, movedTo: next.name };
  }
  const error: ServerError = {
    class: 'InsufficientCapacityError',
    message:
      `no offering of the type has room: ${current.offering} ${refusal ? `was refused (${refusal.message})` : 'is unavailable'}, ` +
      `and every other (${offerings.filter((name) => name !== current.offering).join(', ') || 'none'}) was tried before, is unavailable or would exceed a budget`,
    stack: null,
  };
  const reason = refusal ? `the cloud has no room on ${current.offering}, and no offering is left` : `its offering ${current.offering} is unavailable, and no offering is left`;
  const failed = await recordServerFailure(tx, ref, 'errored', { reason, error }, naming, now, seen);
  return { server: failed.server, effects: { events: [...effects.events, ...failed.effects.events], wake: [...effects.wake, ...failed.effects.wake] }, movedTo: null };
}
