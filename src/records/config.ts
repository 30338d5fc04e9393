import type { JsonObject } from './json.ts';
import type { RolloutPolicy } from './rollout-policy.ts';

/** The server type that calls without a type use. */
export const DEFAULT_SERVER_TYPE = 'default';

/** What hitting a limit does: create what fits and emit `limitHit` (`'emit'`), or refuse the whole change with ServerLimitError (`'throw'`). */
export type LimitHitPolicy = 'emit' | 'throw';

/**
 * What becomes of a server of the type that hung or errored while the cloud has it: `delete` (the default) deletes
 * it from the cloud, `keep` leaves it there for a person to look at until `dynamic-servers delete`. Either way the
 * server no longer counts, its row keeps its history and error, and a replacement is created.
 */
export type FailurePolicy = 'delete' | 'keep';

/** The values of FailurePolicy. */
export const FAILURE_POLICIES = ['delete', 'keep'] as const satisfies readonly FailurePolicy[];

/**
 * How a server type's servers are drained before the engine deletes them (see drain.ts): the hook module called
 * for each, how long a drain may take, how far its hook may push that back, and what becomes of a server whose
 * drain did not finish (`undrainedServers`).
 */
export interface DrainSettings {
  /** The drain hook module, relative to the project root (stack file key `drainHook`); null: drains end at once. */
  hook: string | null;
  /** A drain's deadline, from its start (`drainTimeoutSeconds`). */
  timeoutSeconds: number;
  /** The latest deadline the hook may ask for, from the drain's start (`maxDrainSeconds`). */
  maxSeconds: number;
}

/** A server type as a change works with it: its published configuration, read inside the change's transaction. */
export interface ResolvedServerType {
  name: string;
  provider: string;
  /** The type's own limit (`maxServers`), or null for none. */
  maximum: number | null;
  /** The limit of the type's provider, all its types together, or null for none. */
  providerMaximum: number | null;
  template: JsonObject;
  templateHash: string;
  /** What becomes of its servers that hang (stack file key `hangingServers`). */
  hangingServers: FailurePolicy;
  /** What becomes of its servers that error (stack file key `erroredServers`). */
  erroredServers: FailurePolicy;
  /** How its servers move to a newly published template (stack file key `rollout`). */
  rollout: RolloutPolicy;
  /** How its servers are drained before they are deleted. */
  drain: DrainSettings;
  /** What becomes of a server whose drain passed its deadline or whose hook threw (stack file key `undrainedServers`). */
  undrainedServers: FailurePolicy;
  /** Its template's offerings in order of preference, by name; empty: one unnamed offering (the template itself). */
  offerings: readonly string[];
  /** Hourly prices of offerings by name from its stack file (they win over the prices read from the cloud). */
  prices: Readonly<Record<string, number>>;
  /** The type's budget (`budgetPerHour`): most money per hour for its provisioned servers, or null for none. */
  budget: number | null;
  /** The budget of the type's provider, all its types together, or null for none. */
  providerBudget: number | null;
  /** Seconds an offering the cloud refused for capacity is skipped (stack file key `unavailableOfferingSeconds`). */
  unavailableOfferingSeconds: number;
}
