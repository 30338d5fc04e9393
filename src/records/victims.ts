import { VictimStrategyError } from './errors.ts';
import type { ServerRecord } from './records.ts';
import type { ServerStatus } from './statuses.ts';

/**
 * Chooses which `count` of the `candidates` (the servers of one type that count, oldest first) a decrease takes
 * away. It must return, or resolve to, exactly `count` distinct candidates; otherwise the change is refused with
 * VictimStrategyError. It may be async (ask each server how busy it is, say), but it runs inside the change's
 * transaction, under the type's lock: every other change of the type waits for it, so keep it short. A strategy
 * that throws refuses the change with its error.
 */
export type VictimStrategy = (candidates: readonly ServerRecord[], count: number) => readonly ServerRecord[] | Promise<readonly ServerRecord[]>;

/** Lower goes first: servers that never ran before servers that did. */
const STOP_ORDER: Partial<Record<ServerStatus, number>> = { new: 0, starting: 1, rebooting: 2, running: 2 };

/**
 * The default strategy: servers not yet running go first (new before starting), then the newest (highest id)
 * of the ones that ran. Rebooting servers count as running.
 */
export const notRunningFirstThenNewest: VictimStrategy = (candidates, count) =>
  [...candidates].sort((a, b) => (STOP_ORDER[a.status] ?? 3) - (STOP_ORDER[b.status] ?? 3) || b.id - a.id).slice(0, count);

/** Seconds in a billing hour. */
const HOUR_SECONDS = 3600;

/**
 * A strategy for clouds that bill by the started hour (Hetzner): servers that never ran go first (new, then
 * starting, as in the default), then those whose current paid hour ends soonest, so a stopped server has used most
 * of the hour it was billed for. The hour is counted from the server's record (`createdAt`; the cloud creates it
 * moments later), at `now()`; ties go to the newest.
 */
export function endOfPaidHourFirst(now: () => Date = () => new Date()): VictimStrategy {
  return (candidates, count) => {
    const at = now().getTime();
    const secondsLeft = (server: ServerRecord) => HOUR_SECONDS - (Math.max(0, Math.floor((at - server.createdAt.getTime()) / 1000)) % HOUR_SECONDS);
    return [...candidates]
      .sort((a, b) => (STOP_ORDER[a.status] ?? 3) - (STOP_ORDER[b.status] ?? 3) || secondsLeft(a) - secondsLeft(b) || b.id - a.id)
      .slice(0, count);
  };
}

/** The victims the strategy chose (awaited), after checking it returned exactly `count` distinct candidates. */
export async function chooseVictims(strategy: VictimStrategy, candidates: readonly ServerRecord[], count: number): Promise<ServerRecord[]> {
  const chosen = await strategy(candidates, count);
  const candidateIds = new Set(candidates.map((server) => server.id));
  const chosenIds = new Set(Array.isArray(chosen) ? chosen.map((server) => server?.id) : []);
  if (!Array.isArray(chosen) || chosen.length !== count || chosenIds.size !== count || [...chosenIds].some((id) => !candidateIds.has(id as number))) {
    throw new VictimStrategyError(`the victim strategy must return ${count} distinct servers out of the ${candidates.length} candidates`);
  }
  return candidates.filter((server) => chosenIds.has(server.id));
}
