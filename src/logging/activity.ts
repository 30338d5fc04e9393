// The log lines of what a process does to the fleet, for the worker and the CLI's --verbose: the server
// transitions it records, the offerings it saw refused for capacity and the `pulumi up` runs it makes.
import type { StackUpdate } from '../engine/stack-engine.ts';
import type { DynamicServers } from '../records/dynamic-servers.ts';
import { STATUS_EVENT } from '../records/events.ts';
import { SERVER_STATUSES } from '../records/statuses.ts';
import type { Logger } from './logger.ts';

/**
 * Logs one `server-event` line (info) per transition this process records through `records`: the event's name,
 * server, previous status and reason, and for `errored` the error's class and message; and one `rollout-halted`
 * line (warn) per rollout a failure recorded here halted. Events of other processes (which reach every process)
 * are left to the process that made them.
 */
export function logServerEvents(records: DynamicServers, logger: Logger): void {
  for (const status of SERVER_STATUSES) {
    const name = STATUS_EVENT[status];
    records.on(name, (event, { remote }) => {
      if (remote) return;
      const error = status === 'errored' && event.server.lastError ? { error: { class: event.server.lastError.class, message: event.server.lastError.message } } : {};
      logger.info({ event: 'server-event', name, server: event.server.name, serverType: event.server.serverType, from: event.from, reason: event.reason, ...error }, `${event.server.name}: ${event.from ?? 'none'} -> ${status} (${event.reason})`);
    });
  }
  records.on('rolloutHalted', (halt, { remote }) => {
    if (!remote) logger.warn({ event: 'rollout-halted', serverType: halt.serverType, server: halt.serverName, reason: halt.reason }, `${halt.serverType}: rollout halted: ${halt.reason}`);
  });
}

/**
 * Logs one `offering-unavailable` line (warn) per create this process saw refused for capacity: the type, the
 * offering skipped until when, the offering the server moved on to (null: none left) and the cloud's words.
 */
export function logOfferingRefusals(records: DynamicServers, logger: Logger): void {
  records.on('offeringUnavailable', (refusal, { remote }) => {
    if (remote) return;
    const next = refusal.movedTo === null ? 'no offering left' : `moved to ${refusal.movedTo}`;
    logger.warn({ event: 'offering-unavailable', ...refusal }, `${refusal.serverType}: ${refusal.offering} refused for capacity, skipped until ${refusal.until.toISOString()}; ${next}`);
  });
}

/** A StackEngine onUpdate that logs one `stack-update` line (info) per start and end of a `pulumi up`. */
export function stackUpdateLogger(logger: Logger): (update: StackUpdate) => void {
  return (update) => {
    const outcome = update.phase === 'end' ? ` (${update.result ?? 'succeeded'})` : '';
    logger.info({ event: 'stack-update', ...update }, `pulumi up of ${update.serverType} v${update.desiredVersion}: ${update.phase}${outcome}`);
  };
}
