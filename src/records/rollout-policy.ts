// A server type's rollout policy: whether, and how fast, its servers move to a newly published template. The
// stack file says it (`dynamic-servers:rollout`); the rollout step (rollout.ts) turns it into counts for the
// type's desired count.

/** A number of servers, or a percentage of the type's desired count (`"25%"`). */
export type CountOrPercent = number | `${number}%`;

/**
 * How a server type's running servers move to a newly published template. `off` (the default): they keep the
 * template they were made from, only new servers get the new one. `replace`: each server on another template is
 * replaced: the replacement is created first, and the old server is drained and deleted once it runs.
 * `maxSurge` bounds the servers the type has in the cloud at once (desired + maxSurge, a percentage rounded up);
 * `maxUnavailable` how many fewer than desired may be running at once (a percentage rounded down).
 */
export type RolloutPolicy = { strategy: 'off' } | { strategy: 'replace'; maxSurge: CountOrPercent; maxUnavailable: CountOrPercent };

/** The policy of a stack file without a `rollout` key. */
export const ROLLOUT_OFF: RolloutPolicy = Object.freeze({ strategy: 'off' });

/** The budget of `rollout: replace` without its own numbers: one extra server at a time, never fewer running. */
export const DEFAULT_REPLACE_BUDGET = Object.freeze({ maxSurge: 1, maxUnavailable: 0 });

/** The counts a `replace` policy allows for a type whose desired count is `desiredCount`. */
export interface RolloutBudget {
  /** Servers beyond the desired count the type may have in the cloud at once. */
  maxSurge: number;
  /** Servers below the desired count the type may have running at once. */
  maxUnavailable: number;
}

/** `value` as a count for `desiredCount`: a percentage rounded up (`roundUp`) or down. */
function resolve(value: CountOrPercent, desiredCount: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const exact = (Number(value.slice(0, -1)) * desiredCount) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/**
 * The counts `policy` (a `replace` policy) allows for `desiredCount` servers: maxSurge rounded up, maxUnavailable
 * rounded down (as Kubernetes rounds them). When both come to 0 (small percentages of a small count), maxSurge
 * becomes 1: a rollout always makes progress, at the cost of one extra server rather than of a running one.
 */
export function rolloutBudget(policy: Extract<RolloutPolicy, { strategy: 'replace' }>, desiredCount: number): RolloutBudget {
  const maxSurge = resolve(policy.maxSurge, desiredCount, true);
  const maxUnavailable = resolve(policy.maxUnavailable, desiredCount, false);
  return maxSurge === 0 && maxUnavailable === 0 ? { maxSurge: 1, maxUnavailable } : { maxSurge, maxUnavailable };
}

/** `policy` in a few words, e.g. `replace (maxSurge 1, maxUnavailable 0)` or `off`. */
export function describeRolloutPolicy(policy: RolloutPolicy): string {
  return policy.strategy === 'off' ? 'off' : `replace (maxSurge ${policy.maxSurge}, maxUnavailable ${policy.maxUnavailable})`;
}
