// Server events across processes: each committed change also NOTIFYs its events on one PostgreSQL channel, and
// every open DynamicServers LISTENs there, so a script that called ensure() hears the `running` events a worker
// process records, and a worker hears the script's `creating`.
import { prepared, type Transaction } from './sql.ts';
import pg from 'pg';
import type { Effects } from './effects.ts';
import { isServerEvent, type PendingEvent } from './events.ts';
import type { ServerRecord } from './records.ts';
import { CONFIG_CHANNEL } from './registry.ts';

/** The PostgreSQL notification channel the events travel on. */
export const EVENT_CHANNEL = 'dynamic_servers_events';

/** The PostgreSQL notification channel on which a change names a server type that has new work for the workers. */
export const WORK_CHANNEL = 'dynamic_servers_work';

/** PostgreSQL refuses notification payloads of 8000 bytes or more; ours stay below this. */
const MAX_PAYLOAD_BYTES = 7900;

/** Reconnect delays after the listening connection is lost (milliseconds), the last one repeating. */
const RECONNECT_DELAYS_MS = [250, 1000, 5000, 15_000];

/** An event as it travels: the whole event, or (when too large) the server it is about, to be read on arrival. */
type WireEvent =
  | { origin: string; event: PendingEvent }
  | { origin: string; reference: { name: PendingEvent['name']; serverId: number; from: string | null; reason: string } };

/** The notification text of one event from `origin`: the event itself, without the error's stack if that makes it fit, else a reference. */
export function encodeEvent(origin: string, event: PendingEvent): string {
  const whole = JSON.stringify({ origin, event } satisfies WireEvent);
  if (Buffer.byteLength(whole) < MAX_PAYLOAD_BYTES || !isServerEvent(event)) return whole;
  const { server, from, reason } = event.payload;
  const withoutStack = { ...server, lastError: server.lastError ? { ...server.lastError, stack: null } : null };
  const smaller = JSON.stringify({ origin, event: { name: event.name, payload: { server: withoutStack, from, reason } } } as WireEvent);
  if (Buffer.byteLength(smaller) < MAX_PAYLOAD_BYTES) return smaller;
  return JSON.stringify({ origin, reference: { name: event.name, serverId: server.id, from, reason: reason.slice(0, 2000) } } satisfies WireEvent);
}

/**
 * How every notification text `encodeEvent` makes for `origin` begins (its first key), so a feed can pass over its
 * own without parsing them.
 */
export function encodedOriginPrefix(origin: string): string {
  return `{"origin":${JSON.stringify(origin)},`;
}

/** Turns the ISO strings JSON made of a server record's dates back into Dates. */
function reviveServer(server: Record<string, unknown>): ServerRecord {
  for (const [key, value] of Object.entries(server)) {
    if (key.endsWith('At') && typeof value === 'string') server[key] = new Date(value);
  }
  return server as unknown as ServerRecord;
}

/**
 * Each payload of a list travels as one line of a text value: JSON never holds a raw line break, nor does a server
 * type's name. (A JSON array of the encoded events would escape every quote in them once more.)
 */
const NOTIFY_EFFECTS = prepared(
  `select pg_notify('${EVENT_CHANNEL}', payload) from unnest(string_to_array(?::text, E'\\n')) as payload ` +
    `union all select pg_notify('${WORK_CHANNEL}', payload) from unnest(string_to_array(?::text, E'\\n')) as payload`,
);

/**
 * Sends a change's effects inside the caller's transaction, in one statement: each event on EVENT_CHANNEL and each
 * server type to wake on WORK_CHANNEL. PostgreSQL delivers them when the transaction commits, and never if it
 * rolls back.
 */
export function notifyEffects(tx: Transaction, origin: string, effects: Effects): void {
  if (effects.events.length === 0 && effects.wake.length === 0) return;
  const events = effects.events.map((event) => encodeEvent(origin, event)).join('\n');
  const wake = [...new Set(effects.wake)].join('\n');
  tx.defer(NOTIFY_EFFECTS, [events, wake]);
}

/** What an EventFeed needs from its owner. */
export interface EventFeedOptions {
  databaseUrl: string;
  /** This instance's origin: its own notifications are skipped (its listeners heard them at commit). */
  origin: string;
  /** Receives each event of another origin, in commit order. */
  deliver: (event: PendingEvent) => void;
  /** Reads a server for events sent by reference; null when it is gone (the event is then dropped). */
  loadServer: (serverId: number) => Promise<ServerRecord | null>;
  /** Receives connection and decoding problems; the feed reconnects on its own. */
  onError: (error: unknown) => void;
  /** When given, also receives every server type a change (of any origin, this one included) woke. */
  onWork?: (serverType: string) => void;
  /** When given, also called after every publication that changed the configuration. */
  onConfig?: () => void;
}

/**
 * One LISTEN connection that hands other processes' events to `deliver` while its owner wants them (see
 * listenToEvents), and the work and configuration notices to their callbacks. After a lost connection it reconnects
 * with backoff; events committed while it was away are not replayed (the status history has them).
 */
export class EventFeed {
  readonly #options: EventFeedOptions;
  #client: pg.Client | null = null;
  #closed = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  /** Deliveries run one after the other, so a reference read from the database cannot overtake a later event. */
  #delivering: Promise<void> = Promise.resolve();
  /** The beginning of this instance's own notifications (see encodedOriginPrefix). */
  readonly #ownPrefix: string;
  /** Whether the owner wants other processes' events (EVENT_CHANNEL): while it has listeners. */
  #eventsWanted = false;
  /** The last LISTEN or UNLISTEN of EVENT_CHANNEL sent, settled once it ran (or failed, losing the connection). */
  #eventsSettled: Promise<void> = Promise.resolve();

  private constructor(options: EventFeedOptions) {
    this.#options = options;
    this.#ownPrefix = encodedOriginPrefix(options.origin);
  }

  /** Connects and LISTENs before resolving, so every change committed afterwards reaches `deliver`. */
  static async start(options: EventFeedOptions): Promise<EventFeed> {
    const feed = new EventFeed(options);
    await feed.#connect();
    return feed;
  }

  /**
   * Starts (`wanted`) or stops listening to other processes' events; a reconnection follows the latest wish.
   * Resolves once the connection has taken it up: events committed after that reach `deliver`. While the connection
   * is down it resolves at once (the reconnection listens as wished).
   */
  listenToEvents(wanted: boolean): Promise<void> {
    if (this.#eventsWanted === wanted) return this.#eventsSettled;
    this.#eventsWanted = wanted;
    const client = this.#client;
    if (!client || this.#closed) return (this.#eventsSettled = Promise.resolve());
    return this.#sendEventsWish(client);
  }

  #sendEventsWish(client: pg.Client): Promise<void> {
    this.#eventsSettled = client.query(`${this.#eventsWanted ? 'listen' : 'unlisten'} ${EVENT_CHANNEL}`).then(
      () => {},
      (error: unknown) => this.#lost(client, error as Error),
    );
    return this.#eventsSettled;
  }

  /** Stops listening and closes the connection; later notifications are ignored. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
    await this.#delivering;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#options.databaseUrl });
    const { onWork, onConfig } = this.#options;
    client.on('notification', (message) => {
      if (message.channel === EVENT_CHANNEL && message.payload) this.#receive(message.payload);
      else if (message.channel === WORK_CHANNEL && message.payload) onWork?.(message.payload);
      else if (message.channel === CONFIG_CHANNEL) onConfig?.();
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, null));
    await client.connect();
    const eventsListened = this.#eventsWanted;
    if (eventsListened) await client.query(`listen ${EVENT_CHANNEL}`);
    if (onWork) await client.query(`listen ${WORK_CHANNEL}`);
    if (onConfig) await client.query(`listen ${CONFIG_CHANNEL}`);
    this.#client = client;
    // The owner's wish changed while this connection was being made.
    if (this.#eventsWanted !== eventsListened) void this.#sendEventsWish(client);
    // A publication made while the connection was down was not heard: the owner reloads to be safe.
    if (this.#attempt > 0) onConfig?.();
    this.#attempt = 0;
  }

  #lost(client: pg.Client, error: Error | null): void {
    if (this.#closed || this.#client !== client) return;
    this.#client = null;
    if (error) this.#options.onError(error);
    client.end().catch(() => {});
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const delay = RECONNECT_DELAYS_MS[Math.min(this.#attempt, RECONNECT_DELAYS_MS.length - 1)]!;
    this.#attempt += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#closed) return;
      this.#connect().catch((error: unknown) => {
        this.#options.onError(error);
        if (!this.#closed) this.#scheduleReconnect();
      });
    }, delay);
    this.#retryTimer.unref();
  }

  #receive(text: string): void {
    // Its own events reached this instance's listeners at commit.
    if (text.startsWith(this.#ownPrefix)) return;
    this.#delivering = this.#delivering.then(async () => {
      if (this.#closed) return;
      try {
        const wire = JSON.parse(text) as WireEvent;
        if (wire.origin === this.#options.origin) return;
        if ('event' in wire) {
          if (isServerEvent(wire.event)) reviveServer(wire.event.payload.server as unknown as Record<string, unknown>);
          else if (wire.event.name === 'backingOff' || wire.event.name === 'offeringUnavailable') wire.event.payload.until = new Date(wire.event.payload.until);
          else if (wire.event.name === 'rolloutHalted') wire.event.payload.at = new Date(wire.event.payload.at);
          this.#options.deliver(wire.event);
          return;
        }
        const server = await this.#options.loadServer(wire.reference.serverId);
        if (!server) return;
        const { name, from, reason } = wire.reference;
        this.#options.deliver({ name, payload: { server, from, reason } } as PendingEvent);
      } catch (error) {
        this.#options.onError(error);
      }
    });
  }
}
