import type { CreateBackoff } from './create-backoff.ts';
import type { LimitHit } from './limits.ts';
import type { OfferingUnavailable } from './offering-fallback.ts';
import type { ServerRecord } from './records.ts';
import type { RolloutHalt } from './rollout.ts';
import type { ServerStatus } from './statuses.ts';

/** What every server event carries: the server as committed, the status it left (null when created) and why. */
export interface ServerEvent {
  server: ServerRecord;
  from: ServerStatus | null;
  reason: string;
}

/** The events of the server records and their payloads. Each is emitted after its change is committed. */
export interface DynamicServersEvents {
  creating: ServerEvent;
  starting: ServerEvent;
  running: ServerEvent;
  rebooting: ServerEvent;
  /** The engine chose to delete the server and lets it finish its work first (scale-in, a rollout, a failure policy). */
  draining: ServerEvent;
  stopping: ServerEvent;
  stopped: ServerEvent;
  deleting: ServerEvent;
  deleted: ServerEvent;
  errored: ServerEvent;
  hanging: ServerEvent;
  limitHit: LimitHit;
  /**
   * A type's creates pause after repeated creates that hung or errored (started or extended by each further
   * failure); they resume when the pause ends, when one of its servers reaches running, or when a new version of
   * the type is published.
   */
  backingOff: CreateBackoff;
  /**
   * A type's rollout halted: a server made from the new template hung or errored. The old servers keep running;
   * no more are replaced until `dynamic-servers rollout <type> --resume`.
   */
  rolloutHalted: RolloutHalt;
  /**
   * The cloud refused a create for capacity: the offering is skipped by every worker until `until`, and the server
   * moved on to the next offering (or, with none left, is errored with InsufficientCapacityError).
   */
  offeringUnavailable: OfferingUnavailable;
}

/** The name of an event in DynamicServersEvents. */
export type DynamicServersEventName = keyof DynamicServersEvents;

/** The events about a whole server type rather than one server: they carry no ServerEvent. */
export const TYPE_EVENTS = ['limitHit', 'backingOff', 'rolloutHalted', 'offeringUnavailable'] as const satisfies readonly DynamicServersEventName[];

/** The name of an event that carries a ServerEvent. */
export type ServerEventName = Exclude<DynamicServersEventName, (typeof TYPE_EVENTS)[number]>;

/** True when `event` carries a ServerEvent (a server's status change). */
export function isServerEvent(event: PendingEvent): event is Extract<PendingEvent, { name: ServerEventName }> {
  return !(TYPE_EVENTS as readonly string[]).includes(event.name);
}

/** The event a server entering each status fires (a new server fires `creating`). */
export const STATUS_EVENT: Readonly<Record<ServerStatus, ServerEventName>> = {
  new: 'creating',
  starting: 'starting',
  running: 'running',
  rebooting: 'rebooting',
  draining: 'draining',
  stopping: 'stopping',
  stopped: 'stopped',
  deleting: 'deleting',
  deleted: 'deleted',
  errored: 'errored',
  hanging: 'hanging',
};

/** An event waiting for its transaction to commit. */
export type PendingEvent = {
  [Name in DynamicServersEventName]: { name: Name; payload: DynamicServersEvents[Name] };
}[DynamicServersEventName];

/** Where an event came from: `remote` is true when another process (or another DynamicServers instance) made the change. */
export interface EventOrigin {
  remote: boolean;
}

/** A listener of event `Name`. */
export type Listener<Name extends DynamicServersEventName> = (payload: DynamicServersEvents[Name], origin: EventOrigin) => void;

/**
 * Typed, synchronous listeners, called in this process for its own changes and for those the event feed brings. A listener that throws does not stop the others nor fail the call
 * that emitted: its error goes to `onListenerError`.
 */
export class ServerEvents {
  readonly #listeners = new Map<DynamicServersEventName, Set<(payload: never, origin: EventOrigin) => void>>();
  readonly #onListenerError: (error: unknown, event: DynamicServersEventName) => void;
  /** Listeners of all events together. */
  #count = 0;
  /** Told when the first listener is added (true) and when the last one is stopped (false). */
  onAnyListeners: (any: boolean) => void = () => {};

  constructor(onListenerError: (error: unknown, event: DynamicServersEventName) => void) {
    this.#onListenerError = onListenerError;
  }

  /** True while any event has a listener. */
  get anyListeners(): boolean {
    return this.#count > 0;
  }

  /** Calls `listener` on every `name` event from now on; returns a function that stops it. */
  on<Name extends DynamicServersEventName>(name: Name, listener: Listener<Name>): () => void {
    let listeners = this.#listeners.get(name);
    if (!listeners) this.#listeners.set(name, (listeners = new Set()));
    const added = listener as (payload: never, origin: EventOrigin) => void;
    if (!listeners.has(added)) {
      listeners.add(added);
      if (++this.#count === 1) this.onAnyListeners(true);
    }
    return () => this.off(name, listener);
  }

  /** Stops calling `listener` on `name` events. */
  off<Name extends DynamicServersEventName>(name: Name, listener: Listener<Name>): void {
    if (this.#listeners.get(name)?.delete(listener as (payload: never, origin: EventOrigin) => void) && --this.#count === 0) this.onAnyListeners(false);
  }

  /** Calls the listeners of each event, in order; `remote` says whether another instance made the changes. */
  emit(events: readonly PendingEvent[], remote = false): void {
    const origin: EventOrigin = { remote };
    for (const event of events) {
      for (const listener of [...(this.#listeners.get(event.name) ?? [])]) {
        try {
          (listener as (payload: typeof event.payload, origin: EventOrigin) => void)(event.payload, origin);
        } catch (error) {
          this.#onListenerError(error, event.name);
        }
      }
    }
  }
}
