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
