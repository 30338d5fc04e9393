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
 * A server type or provider name is empty or malformed: names are lowercase letters, digits and dashes, so they
 * are safe in file names, stack names and shells.
 */
export class InvalidNameError extends InvalidInputError {
  override name = 'InvalidNameError';
}

/** A well-formed server type name that is not configured. */
export class UnknownServerTypeError extends InvalidInputError {
  override name = 'UnknownServerTypeError';
  readonly serverType: string;

  constructor(serverType: string, known: readonly string[]) {
    super(`unknown server type "${serverType}"; configured types: ${known.join(', ') || '(none)'}`);
    this.serverType = serverType;
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

/** A change would exceed a server limit and the limit policy is `'throw'`. Nothing was changed. */
export class ServerLimitError extends DynamicServersError {
  override name = 'ServerLimitError';
  readonly limit: LimitHit;

  constructor(limit: LimitHit) {
    super(
      `${limit.scope === 'serverType' ? 'server type' : 'provider'} "${limit.scope === 'serverType' ? limit.serverType : limit.provider}" ` +
        `allows at most ${limit.maximum} provisioned servers; ${limit.provisioned} are provisioned and ${limit.requested} more were requested`,
    );
    this.limit = limit;
  }
}

/** No server record has the given id. */
export class ServerNotFoundError extends InvalidInputError {
  override name = 'ServerNotFoundError';
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

/**
 * The change was committed but its work could not be enqueued. The desired-state version stays ahead of the
 * applied version, so a reconcile can still see that work remains.
 */
export class WorkNotEnqueuedError extends DynamicServersError {
  override name = 'WorkNotEnqueuedError';
}

/** The instance was closed; open a new one. */
export class DynamicServersClosedError extends DynamicServersError {
  override name = 'DynamicServersClosedError';
}
