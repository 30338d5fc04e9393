/**
 * The public entry of the library: open a DynamicServers on the deployment's PostgreSQL database (the server types
 * come from the stack files published there), then say how many servers of each type should exist (`ensure`,
 * `increase`, `decrease`), `reboot` a type, and read the records back.
 */
export { DynamicServers, type DynamicServersOptions } from './records/dynamic-servers.ts';
export { DEFAULT_SERVER_TYPE, FAILURE_POLICIES, type FailurePolicy, type LimitHitPolicy } from './records/config.ts';
export { CREATE_BACKOFF, createPauseSeconds, type CreateBackoff } from './records/create-backoff.ts';
export type { DeleteRequest } from './records/server-delete.ts';
export type { PublishedServerType, ServerTypeSettings, TypeTimeouts } from './records/registry.ts';
export type { CountChange } from './records/count-change.ts';
export type { DrainSettings } from './records/config.ts';
export type { RolloutHalt, RolloutState, RolloutStatus } from './records/rollout.ts';
export { rolloutBudget, type CountOrPercent, type RolloutBudget, type RolloutPolicy } from './records/rollout-policy.ts';
export type { DrainContext, DrainServer } from './engine/drain-hook.ts';
export type { RebootRequest } from './records/reboot.ts';
export type { ServerQuery } from './records/queries.ts';
export type { TransitionDetails } from './records/transitions.ts';
export type { DesiredStateRecord, ServerError, ServerRecord, StatusChangeRecord } from './records/records.ts';
export type { ServerAddresses } from './records/entities/server.ts';
export type { JsonObject, JsonValue } from './records/json.ts';
export { ALLOWED_TRANSITIONS, PROVISIONED_STATUSES, SERVER_STATUSES, isProvisioned, lingers, type ProvisionedStatus, type ServerStatus } from './records/statuses.ts';
export { STATUS_EVENT, TYPE_EVENTS, type DynamicServersEventName, type DynamicServersEvents, type EventOrigin, type Listener, type ServerEvent } from './records/events.ts';
export type { BudgetCount, LimitHit, LimitScope } from './records/limits.ts';
export type { TypeCost } from './records/costs.ts';
export type { OfferingUnavailable } from './records/offering-fallback.ts';
export { MAX_COUNT_PER_CALL, NAME_PATTERN } from './records/input.ts';
export { MAX_META_BYTES, MAX_META_KEY_LENGTH } from './records/meta.ts';
export { endOfPaidHourFirst, notRunningFirstThenNewest, type VictimStrategy } from './records/victims.ts';
export { SERVER_NAME_PATTERN, typeAndIdName, typeIdAndInstallationName, type ServerNameAction, type ServerNameContext } from './records/server-names.ts';
export {
  DrainEndedError,
  DynamicServersClosedError,
  DynamicServersError,
  InvalidConfigurationError,
  InvalidCountError,
  InvalidInputError,
  InvalidNameError,
  InvalidServerNameError,
  InvalidTransitionError,
  NothingPublishedError,
  ServerLimitError,
  ServerRecordNotFoundError,
  UnknownPriceError,
  UnknownServerTypeError,
  VictimStrategyError,
} from './records/errors.ts';
