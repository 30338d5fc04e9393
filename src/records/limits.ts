/**
 * Which limit was hit: the server type's own maximum, its provider's (shared by every type on it), or a budget
 * (the type's or its provider's money per hour; `LimitHit.budget` says which).
 */
export type LimitScope = 'serverType' | 'provider' | 'budget';

/** A budget as a change counted it: whose it is, what it allows, what the counted servers cost, and a new server's price. */
export interface BudgetCount {
  /** The type's own budget (`budgetPerHour` in its stack file) or its provider's (`stacks/providers.yaml`). */
  of: 'serverType' | 'provider';
  /** Money per hour the budget allows. */
  perHour: number;
  /** Money per hour the provisioned servers it covers cost when the request came. */
  spentPerHour: number;
  /** The hourly price of each new server (its offering's). */
  pricePerServer: number;
  /** The offering the new servers were to be created on, or null for a type with one unnamed offering. */
  offering: string | null;
}

/** What the `limitHit` event carries and ServerLimitError holds: a request for more servers than a limit leaves room for. */
export interface LimitHit {
  scope: LimitScope;
  serverType: string;
  provider: string;
  /**
   * The maximum number of provisioned servers the limit allows (for a budget: the servers it covers now plus as many
   * new ones as the money left buys).
   */
  maximum: number;
  /** Provisioned servers counted against the limit when the request came (the type's, or the provider's). */
  provisioned: number;
  /** How many new servers the call asked for. */
  requested: number;
  /** How many of them the limits allowed (0 when the policy is `'throw'`: nothing was created). */
  allowed: number;
  /** For scope `budget`: the budget and what it was counted against. */
  budget?: BudgetCount;
}

/** One limit as counted inside the change's transaction. */
export interface CountedLimit {
  scope: LimitScope;
  maximum: number;
  provisioned: number;
  /** For scope `budget`. */
  budget?: BudgetCount;
}

/**
 * How many of `requested` new servers fit under every limit, and the limit that cut the request short (the tightest;
 * the first given on a tie: the server type's count, then the provider's, then the budgets), or null when all fit.
 */
export function fitUnderLimits(
  requested: number,
  limits: readonly CountedLimit[],
  subject: { serverType: string; provider: string },
): { allowed: number; hit: LimitHit | null } {
  let allowed = requested;
  let tightest: CountedLimit | null = null;
  for (const limit of limits) {
    const room = Math.max(0, limit.maximum - limit.provisioned);
    if (room < allowed) {
      allowed = room;
      tightest = limit;
    }
  }
  if (!tightest) return { allowed, hit: null };
  const hit: LimitHit = { ...subject, scope: tightest.scope, maximum: tightest.maximum, provisioned: tightest.provisioned, requested, allowed };
  if (tightest.budget) hit.budget = { ...tightest.budget };
  return { allowed, hit };
}
