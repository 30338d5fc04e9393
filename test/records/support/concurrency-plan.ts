import type { CountChange } from '../../../src/api.ts';

/** Types and limits the concurrency test publishes before its processes start: two types sharing one provider. */
export const CONCURRENCY_SETUP = {
  serverTypes: { alpha: { provider: 'shared', maximum: 8 }, beta: { provider: 'shared', maximum: 8 } },
  providers: { shared: { maximum: 12 } },
} as const;

/**
 * The budget variant: the same two types, each server priced by its one offering, a budget per type and one for the
 * provider. Amounts are whole multiples of `unit` (0.005), so the test can count in exact whole numbers of units.
 */
export const BUDGET_SETUP = {
  unit: 0.005,
  serverTypes: { alpha: { provider: 'shared', offering: 'a', priceUnits: 2, budgetUnits: 10 }, beta: { provider: 'shared', offering: 'b', priceUnits: 3, budgetUnits: 12 } },
  providers: { shared: { budgetUnits: 20 } },
} as const;

/** One call a process will make. */
export interface PlannedCall {
  op: 'ensure' | 'increase' | 'decrease';
  serverType: 'alpha' | 'beta';
  amount: number;
}

/** A call and what it returned (or the error it threw), as a process reports it. */
export type CallOutcome = PlannedCall & { pid: number } & ({ change: CountChange } | { error: string });

/** A small seeded PRNG (mulberry32): the same seed gives the same calls. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random call: ensure 0..10, or increase/decrease by 1..3, on alpha or beta. */
export function describeCall(random: () => number): PlannedCall {
  const roll = Math.floor(random() * 3);
  const serverType = random() < 0.5 ? 'alpha' : 'beta';
  if (roll === 0) return { op: 'ensure', serverType, amount: Math.floor(random() * 11) };
  return { op: roll === 1 ? 'increase' : 'decrease', serverType, amount: 1 + Math.floor(random() * 3) };
}
