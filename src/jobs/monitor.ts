// One tick of the monitor: ask the user's determineServerCount for each type and apply its answer with ensure().
import type { DynamicServers } from '../records/dynamic-servers.ts';

/** The user's answer to "how many servers of this type now?"; a non-number leaves the type as it is. */
export type DetermineServerCount = (serverType: string) => number | null | undefined | Promise<number | null | undefined>;

/** What one tick did to one server type. */
export interface MonitorTypeResult {
  serverType: string;
  /** determineServerCount's answer when it was a number, else null (then the type was left alone). */
  answer: number | null;
  /** Provisioned servers before and after the tick (equal when nothing changed). */
  before: number;
  after: number;
  /** True when ensure() wrote a change. */
  changed: boolean;
  /** Set when determineServerCount threw or ensure() refused the answer; the type was left alone. */
  error?: string;
}

/**
 * Calls `determine` for each of `serverTypes` in turn and applies a numeric answer with `records.ensure`. A type
 * whose call throws, or whose answer ensure() refuses (a negative count, a limit), is left as it is: its error is
 * passed to `report` (with the context `determineServerCount(<type>)`) and put in its result, and the other types
 * still run. Returns one result per type, in the given order.
 */
export async function runMonitorTick(
  records: DynamicServers,
  serverTypes: readonly string[],
  determine: DetermineServerCount,
  report: (error: unknown, context: string) => void = () => {},
): Promise<MonitorTypeResult[]> {
  const results: MonitorTypeResult[] = [];
  for (const serverType of serverTypes) {
    let answer: number | null = null;
    try {
      const given = await determine(serverType);
      if (typeof given === 'number') {
        answer = given;
        const change = await records.ensure(serverType, answer);
        results.push({ serverType, answer, before: change.before, after: change.after, changed: change.changed });
      } else {
        const count = await records.provisionedCount(serverType);
        results.push({ serverType, answer: null, before: count, after: count, changed: false });
      }
    } catch (error) {
      report(error, `determineServerCount(${serverType})`);
      const count = await records.provisionedCount(serverType);
      results.push({ serverType, answer, before: count, after: count, changed: false, error: String((error as Error)?.message ?? error) });
    }
  }
  return results;
}
