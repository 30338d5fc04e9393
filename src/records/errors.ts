import type { LimitHit } from './limits.ts';
import type { ServerStatus } from './statuses.ts';

/** Base class of every error the server records raise; callers can `instanceof` each subclass. */
export class DynamicServersError extends Error {
  override name = 'DynamicServersError';
}

/** A call got an argument it cannot accept. Nothing was changed. */
export class InvalidInputError extends DynamicServersError {
  override name = 'InvalidInputError';
}

/** A count is not a whole number in the accepted range (negative, fractional, NaN, infinite or too large). */
export class InvalidCountError extends InvalidInputError {
  override name = 'InvalidCountError';
}

/**
 * A server type name is empty or malformed: names are lowercase letters, digits and dashes, so they are safe in
 * file names, stack names and shells.
 */
export class InvalidNameError extends InvalidInputError {
  override name = 'InvalidNameError';
}

/**
 * A well-formed server type name that is not configured: no stack file of that name was published to the
 * database (see `dynamic-servers publish`), or its file was removed. `known` lists the published types.
 */
export class UnknownServerTypeError extends InvalidInputError {
  override name = 'UnknownServerTypeError';
  readonly serverType: string;
  readonly known: readonly string[];

  constructor(serverType: string, known: readonly string[], message?: string) {
    super(message ?? `unknown server type "${serverType}"; published server types: ${known.join(', ') || '(none)'}`);
    this.serverType = serverType;
    this.known = known;
  }
}

/**
 * Nothing was ever published to this database, so no server type exists yet. Publish the deployment's stack files
 * first: `npx dynamic-servers publish` in the deployment project, or start a worker there (it publishes at start).
 */
export class NothingPublishedError extends UnknownServerTypeError {
  override name = 'NothingPublishedError';

  constructor(serverType: string) {
    super(
      serverType,
      [],
      `unknown server type "${serverType}": no server types were ever published to this database; ` +
        'run `npx dynamic-servers publish` in the deployment project (where Pulumi.yaml and stacks/ are), or start a worker there, which publishes at start',
    );
  }
}

/** The server name action returned a name that is not a lowercase DNS label. Nothing was changed. */
export class InvalidServerNameError extends InvalidInputError {
  override name = 'InvalidServerNameError';
}

/** The options given to `DynamicServers.open` are invalid. */
export class InvalidConfigurationError extends DynamicServersError {
  override name = 'InvalidConfigurationError';
}

/** The words of a ServerLimitError for `limit`. */
function limitMessage(limit: LimitHit): string {
  const { budget } = limit;
  if (budget) {
    const owner = budget.of === 'serverType' ? `server type "${limit.serverType}"` : `provider "${limit.provider}"`;
    return (
      `${owner} has a budget of ${budget.perHour} per hour; its ${limit.provisioned} provisioned servers cost ${budget.spentPerHour}, ` +
      `so ${limit.maximum - limit.provisioned} more at ${budget.pricePerServer}${budget.offering === null ? '' : ` (${budget.offering})`} fit and ${limit.requested} were requested`
    );
  }
  return (
    `${limit.scope === 'serverType' ? 'server type' : 'provider'} "${limit.scope === 'serverType' ? limit.serverType : limit.provider}" ` +
    `allows at most ${limit.maximum} provisioned servers; ${limit.provisioned} are provisioned and ${limit.requested} more were requested`
  );
}

/** A change would exceed a server limit or a budget and the limit policy is `'throw'`. Nothing was changed. */
export class ServerLimitError extends DynamicServersError {
  override name = 'ServerLimitError';
  readonly limit: LimitHit;

  constructor(limit: LimitHit) {
    super(limitMessage(limit));
    this.limit = limit;
  }
}

/**
 * A change would add servers under a budget, but a price it needs is unknown: that of the offering the new servers
 * get (`offerings`), or that of `unpricedServers` provisioned servers the budget covers (created before any price was
 * known). Give `dynamic-servers:prices` in the stack file, or start a worker, which reads the prices of clouds that
 * publish them. Nothing was changed.
 */
export class UnknownPriceError extends DynamicServersError {
  override name = 'UnknownPriceError';
  readonly serverType: string;
  readonly offerings: readonly string[];
  readonly unpricedServers: number;

  constructor(serverType: string, offerings: readonly string[], unpricedServers: number) {
    const what = offerings.length > 0 ? `offering ${offerings.join(', ')}` : `${unpricedServers} of its provisioned servers`;
    super(
      `server type "${serverType}" has a budget, but no price is known for ${what}: give dynamic-servers:prices in its stack file, ` +
        'or start a worker, which reads the prices of clouds that publish them',
    );
    this.serverType = serverType;
    this.offerings = offerings;
    this.unpricedServers = unpricedServers;
  }
}

/** No server record has the given id. (A cloud's answer that a server does not exist is the providers' ServerNotFoundError.) */
export class ServerRecordNotFoundError extends InvalidInputError {
  override name = 'ServerRecordNotFoundError';
}

/** A server cannot go from its current status to the requested one (see ALLOWED_TRANSITIONS). Nothing was changed. */
export class InvalidTransitionError extends DynamicServersError {
  override name = 'InvalidTransitionError';
  readonly from: ServerStatus;
  readonly to: ServerStatus;

  constructor(serverId: number, from: ServerStatus, to: ServerStatus) {
    super(`server ${serverId} cannot go from ${from} to ${to}`);
    this.from = from;
    this.to = to;
  }
}

/** The victim strategy did not return exactly the requested number of distinct candidates. Nothing was changed. */
export class VictimStrategyError extends DynamicServersError {
  override name = 'VictimStrategyError';
}

/** The instance was closed; open a new one. */
export class DynamicServersClosedError extends DynamicServersError {
  override name = 'DynamicServersClosedError';
}

/** A drain hook asked for more time for a server whose drain has already ended (drained, deadline passed, or deleted). */
export class DrainEndedError extends DynamicServersError {
  override name = 'DrainEndedError';
}
