/** Which limit was hit: the server type's own maximum, or its provider's (shared by every type on it). */
export type LimitScope = 'serverType' | 'provider';

/** What the `limitHit` event carries and ServerLimitError holds: a request for more servers than a limit leaves room for. */
export interface LimitHit {
  scope: LimitScope;
  serverType: string;
  provider: string;
  /** The maximum number of provisioned servers the limit allows. */
  maximum: number;
  /** Provisioned servers counted against the limit when the request came (the type's, or the provider's). */
  provisioned: number;
  /** How many new servers the call asked for. */
  requested: number;
  /** How many of them the limits allowed (0 when the policy is `'throw'`: nothing was created). */
  allowed: number;
}

/** One limit as counted inside the change's transaction. */
export interface CountedLimit {
  scope: LimitScope;
  maximum: number;
  provisioned: number;
}

/**
 * How many of `requested` new servers fit under every limit, and the limit that cut the request short (the tightest;
 * the server type's on a tie), or null when all fit.
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
  return { allowed, hit: { ...subject, scope: tightest.scope, maximum: tightest.maximum, provisioned: tightest.provisioned, requested, allowed } };
}
