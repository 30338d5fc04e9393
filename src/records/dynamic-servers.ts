import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { pino } from 'pino';
import {
  DEFAULT_SERVER_TYPE,
  resolveRecordsConfig,
  type LimitHitPolicy,
  type ProviderOptions,
  type RecordsConfig,
  type ResolvedServerType,
  type ServerTypeOptions,
} from './config.ts';
import { changeServerCount, type CountChange } from './count-change.ts';
import { recordAppliedVersion } from './desired-state.ts';
import type { Effects } from './effects.ts';
import {
  DynamicServersClosedError,
  InvalidConfigurationError,
  InvalidInputError,
  InvalidServerNameError,
  ServerNotFoundError,
  UnknownServerTypeError,
  WorkNotEnqueuedError,
} from './errors.ts';
import { EventFeed, notifyEvents } from './event-feed.ts';
import { ServerEvents, type DynamicServersEventName, type Listener } from './events.ts';
import { parseCount, parseName, parseStep } from './input.ts';
import type { JsonObject } from './json.ts';
import { mergeServerMeta, parseMeta } from './meta.ts';
import { pruneServerRecords } from './prune.ts';
import { lockServerType } from './locks.ts';
import { migrateRecords, openRecordsOrm } from './orm.ts';
import { countPerStatus, countProvisioned, findDesiredState, findServer, findServers, findStatusHistory, parseServerQuery, type ServerQuery } from './queries.ts';
import { requestReboot, type RebootRequest } from './reboot.ts';
import type { DesiredStateRecord, ServerRecord, StatusChangeRecord } from './records.ts';
import { typeAndIdName, type ServerNameAction } from './server-names.ts';
import type { ServerStatus } from './statuses.ts';
import { parseServerId, parseStatus, parseTransitionDetails, transitionServer, type TransitionDetails } from './transitions.ts';
import { notRunningFirstThenNewest, type VictimStrategy } from './victims.ts';
import { RecordingWorkQueue, type WorkQueue } from './work-queue.ts';

/** How to open DynamicServers. Only `databaseUrl` and `serverTypes` are required. */
export interface DynamicServersOptions {
  /** PostgreSQL connection URL (holds the password: never logged). */
  databaseUrl: string;
  /** The server types, by name; calls without a type use `default`. */
  serverTypes: Record<string, ServerTypeOptions>;
  /** Limits per provider, by name. */
  providers?: Record<string, ProviderOptions>;
  /** What hitting a limit does; `'emit'` (the default) creates what fits and emits `limitHit`, `'throw'` refuses the change. */
  onLimitHit?: LimitHitPolicy;
  /** Which servers a decrease stops; default notRunningFirstThenNewest. */
  victimStrategy?: VictimStrategy;
  /** Names new servers; default `<type>-<id>`. */
  serverName?: ServerNameAction;
  /** Receives the work of each committed change; default a RecordingWorkQueue. */
  workQueue?: WorkQueue;
  /** Most database connections this instance opens (default 10). */
  poolSize?: number;
  /** Receives errors thrown by event listeners; default logs them to stderr. */
  onListenerError?: (error: unknown, event: DynamicServersEventName) => void;
}

/** The components of an opened instance. */
interface Parts {
  orm: MikroORM;
  config: RecordsConfig;
  events: ServerEvents;
  /** Tags this instance's notifications, so its feed skips them. */
  origin: string;
  feed: EventFeed;
  victimStrategy: VictimStrategy;
  serverName: ServerNameAction;
  workQueue: WorkQueue;
}

/** Turns a database error a change can cause into the typed error callers expect; other errors pass through. */
function translateDatabaseError(error: unknown): unknown {
  if (error instanceof UniqueConstraintViolationException && (error as { constraint?: string }).constraint === 'server_name_unique') {
    return new InvalidServerNameError('the server name action returned a name another server already has', { cause: error });
  }
  return error;
}

function logFeedError(): (error: unknown) => void {
  let logger: pino.Logger | null = null;
  return (error) => {
    logger ??= pino({ name: 'dynamic-servers' }, pino.destination(2));
    logger.warn({ err: error }, 'the event feed from other processes had a problem');
  };
}

function logListenerError(): (error: unknown, event: DynamicServersEventName) => void {
  let logger: pino.Logger | null = null;
  return (error, event) => {
    logger ??= pino({ name: 'dynamic-servers' }, pino.destination(2));
    logger.error({ err: error, event }, 'an event listener threw');
  };
}

/**
 * The server records of one database: how many servers of each type should exist, every server ever asked for,
 * and its status history. Each change runs in one transaction under its server type's lock (so concurrent calls
 * from any number of processes apply one after the other and never overrun a limit), then hands its work to the
 * work queue and emits its events. Open with `DynamicServers.open`, finish with `close()`.
 */
export class DynamicServers {
  /** Where committed changes put their work. */
  readonly workQueue: WorkQueue;
  readonly #orm: MikroORM;
  readonly #config: RecordsConfig;
  readonly #events: ServerEvents;
  readonly #origin: string;
  readonly #feed: EventFeed;
  readonly #victimStrategy: VictimStrategy;
  readonly #serverName: ServerNameAction;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | null = null;

  private constructor(parts: Parts) {
    this.#orm = parts.orm;
    this.#config = parts.config;
    this.#events = parts.events;
    this.#origin = parts.origin;
    this.#feed = parts.feed;
    this.#victimStrategy = parts.victimStrategy;
    this.#serverName = parts.serverName;
    this.workQueue = parts.workQueue;
  }

  /**
   * Validates the options (InvalidConfigurationError), connects, and runs the migrations that have not run yet
   * (one process at a time). The returned instance holds connections until `close()`.
   */
  static async open(options: DynamicServersOptions): Promise<DynamicServers> {
    if (typeof options?.databaseUrl !== 'string' || options.databaseUrl === '') throw new InvalidConfigurationError('invalid options: databaseUrl is required');
    const config = resolveRecordsConfig(options);
    const poolSize = options.poolSize ?? 10;
    if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > 500) throw new InvalidConfigurationError(`invalid options: poolSize must be a whole number from 1 to 500, got ${poolSize}`);
    for (const key of ['victimStrategy', 'serverName', 'onListenerError'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'function') throw new InvalidConfigurationError(`invalid options: ${key} must be a function`);
    }
    if (options.workQueue !== undefined && typeof options.workQueue?.enqueue !== 'function') throw new InvalidConfigurationError('invalid options: workQueue must have an enqueue method');
    const orm = await openRecordsOrm(options.databaseUrl, poolSize);
    const events = new ServerEvents(options.onListenerError ?? logListenerError());
    const origin = randomUUID();
    let feed: EventFeed;
    try {
      await migrateRecords(orm, options.databaseUrl);
      feed = await EventFeed.start({
        databaseUrl: options.databaseUrl,
        origin,
        deliver: (event) => events.emit([event], true),
        loadServer: (serverId) => findServer(orm.em.fork(), serverId),
        onError: logFeedError(),
      });
    } catch (error) {
      await orm.close();
      throw error;
    }
    return new DynamicServers({
      orm,
      config,
      events,
      origin,
      feed,
      victimStrategy: options.victimStrategy ?? notRunningFirstThenNewest,
      serverName: options.serverName ?? typeAndIdName,
      workQueue: options.workQueue ?? new RecordingWorkQueue(),
    });
  }

  /**
   * Makes the type have exactly `count` provisioned servers (as far as the limits allow): creates servers with
   * status `new`, or moves the victim strategy's choice to `stopping`. `count` is a whole number from 0 to
   * MAX_COUNT_PER_CALL; `serverType` undefined means `default`.
   */
  ensure(serverType: string = DEFAULT_SERVER_TYPE, count: number): Promise<CountChange> {
    return this.#run(() => {
      const type = this.#serverType(serverType);
      const wanted = parseCount(count);
      return this.#changeCount(type, () => wanted, `ensure(${type.name}, ${wanted})`);
    });
  }

  /** Adds `by` (1 by default) provisioned servers to the type, as far as the limits allow. */
  increase(serverType: string = DEFAULT_SERVER_TYPE, by = 1): Promise<CountChange> {
    return this.#run(() => {
      const type = this.#serverType(serverType);
      const step = parseStep(by);
      return this.#changeCount(type, (provisioned) => provisioned + step, `increase(${type.name}, ${step})`);
    });
  }

  /** Stops `by` (1 by default) provisioned servers of the type, chosen by the victim strategy; fewer if fewer exist. */
  decrease(serverType: string = DEFAULT_SERVER_TYPE, by = 1): Promise<CountChange> {
    return this.#run(() => {
      const type = this.#serverType(serverType);
      const step = parseStep(by);
      return this.#changeCount(type, (provisioned) => Math.max(0, provisioned - step), `decrease(${type.name}, ${step})`);
    });
  }

  /**
   * Reboots the provisioned servers of one type (and no other): running ones now, new and starting ones once
   * they run (recorded in `rebootRequestedAt`).
   */
  reboot(serverType: string = DEFAULT_SERVER_TYPE): Promise<RebootRequest> {
    return this.#run(async () => {
      const type = this.#serverType(serverType);
      return (await this.#commit((em) => requestReboot(em, type.name, new Date()))).request;
    });
  }

  /** Provisioned servers (new, starting, running, rebooting) of one type, or of all types when `serverType` is undefined. */
  provisionedCount(serverType?: string): Promise<number> {
    return this.#run(() => {
      const name = serverType === undefined ? undefined : this.#serverType(serverType).name;
      return countProvisioned(this.#orm.em.fork(), name);
    });
  }

  /** Servers in each status (every status present) of one type, or of all types when `serverType` is undefined. */
  countPerStatus(serverType?: string): Promise<Record<ServerStatus, number>> {
    return this.#run(() => {
      const name = serverType === undefined ? undefined : this.#serverType(serverType).name;
      return countPerStatus(this.#orm.em.fork(), name);
    });
  }

  /** Servers matching the query, oldest first; all servers without one. */
  servers(query: ServerQuery = {}): Promise<ServerRecord[]> {
    return this.#run(() => {
      const valid = parseServerQuery(query);
      if (valid.serverType !== undefined) this.#serverType(valid.serverType);
      return findServers(this.#orm.em.fork(), valid);
    });
  }

  /** One server's record; ServerNotFoundError when no server has the id. */
  server(serverId: number): Promise<ServerRecord> {
    return this.#run(async () => {
      const id = parseServerId(serverId);
      const server = await findServer(this.#orm.em.fork(), id);
      if (!server) throw new ServerNotFoundError(`no server has id ${id}`);
      return server;
    });
  }

  /**
   * Merges `meta` into the meta of server `serverId` and returns its record: the top-level keys of `meta` replace
   * those of the same name, the others stay. `meta` is a JSON object whose keys have 1 to 255 characters; the merged
   * meta may take at most 64 KiB as JSON (MAX_META_BYTES). No history row, no event. Throws InvalidInputError or
   * ServerNotFoundError, writing nothing.
   */
  mergeMeta(serverId: number, meta: JsonObject): Promise<ServerRecord> {
    return this.#run(async () => {
      const id = parseServerId(serverId);
      const valid = parseMeta(meta);
      return this.#orm.em.fork().transactional((em) => mergeServerMeta(em, id, valid, new Date()));
    });
  }

  /** Every status change of one server, oldest first (the first row is its creation, from null to new). */
  statusHistory(serverId: number): Promise<StatusChangeRecord[]> {
    return this.#run(() => findStatusHistory(this.#orm.em.fork(), parseServerId(serverId)));
  }

  /** The type's desired-state document: its count, its version and the version last applied. */
  desiredState(serverType: string = DEFAULT_SERVER_TYPE): Promise<DesiredStateRecord> {
    return this.#run(() => findDesiredState(this.#orm.em.fork(), this.#serverType(serverType).name));
  }

  /**
   * For the job layer: records that the work of every desired-state version up to `version` is done. Never moves
   * the applied version back; a version not reached yet is refused with InvalidInputError.
   */
  markApplied(serverType: string, version: number): Promise<DesiredStateRecord> {
    return this.#run(async () => {
      const type = this.#serverType(serverType);
      if (!Number.isSafeInteger(version) || version < 0) throw new InvalidInputError(`a desired-state version is a whole number from 0, got ${String(version)}`);
      await this.#commit(async (em) => {
        await lockServerType(em, type.name);
        await recordAppliedVersion(em, type.name, version, new Date());
        return { effects: { work: [], events: [] } };
      });
      return findDesiredState(this.#orm.em.fork(), type.name);
    });
  }

  /**
   * For the job layer: moves a server to status `to` (see ALLOWED_TRANSITIONS), with its history row and event.
   * A server reaching `running` with a reboot pending goes on to `rebooting`. Throws InvalidInputError,
   * ServerNotFoundError or InvalidTransitionError without writing anything.
   */
  recordTransition(serverId: number, to: ServerStatus, details: TransitionDetails): Promise<ServerRecord> {
    return this.#run(async () => {
      const id = parseServerId(serverId);
      const status = parseStatus(to);
      const valid = parseTransitionDetails(details);
      const rows = await this.#orm.em.fork().execute<{ type: string }[]>('select "type" from "server" where "id" = ?', [id]);
      const serverType = rows[0]?.type;
      if (serverType === undefined) throw new ServerNotFoundError(`no server has id ${id}`);
      return (await this.#commit((em) => transitionServer(em, { id, serverType }, status, valid, new Date()))).server;
    });
  }

  /**
   * For the job layer: claims the sending of a `rebooting` server's reboot to the cloud. In one atomic statement,
   * sets `rebootSentAt` to now when the server is `rebooting` and no reboot of its current request was claimed
   * yet; returns true when this call did, false otherwise (no such server, not rebooting, or claimed already by
   * another caller in any process). Only the caller that got true may ask the cloud to reboot the server, so one
   * request reboots it at most once. The claim stays until the server goes from `rebooting` to `running` (which
   * clears it with `rebootRequestedAt`) or the winner gives it back with `releaseRebootClaim`. A caller that dies
   * between the claim and the cloud's answer leaves the claim set: that reboot may be lost, never doubled.
   * No history row, no event. Throws InvalidInputError for a bad id.
   */
  claimReboot(serverId: number): Promise<boolean> {
    return this.#run(async () => {
      const id = parseServerId(serverId);
      const now = new Date();
      const claimed = await this.#orm.em
        .fork()
        .execute<{ id: string }[]>(
          `update "server" set "reboot_sent_at" = ?::timestamptz, "updated_at" = ?::timestamptz where "id" = ? and "status" = 'rebooting' and "reboot_sent_at" is null returning "id"`,
          [now, now, id],
        );
      return claimed.length === 1;
    });
  }

  /**
   * For the job layer: gives back a reboot claim won with `claimReboot`, when the cloud did not take the reboot
   * (it answered with a TransientProviderError), so a later pass claims and sends it again. Clears `rebootSentAt`
   * of a server still `rebooting`; returns whether it cleared one. Only the caller holding the claim may call it.
   * No history row, no event. Throws InvalidInputError for a bad id.
   */
  releaseRebootClaim(serverId: number): Promise<boolean> {
    return this.#run(async () => {
      const id = parseServerId(serverId);
      const released = await this.#orm.em
        .fork()
        .execute<{ id: string }[]>(
          `update "server" set "reboot_sent_at" = null, "updated_at" = ?::timestamptz where "id" = ? and "status" = 'rebooting' and "reboot_sent_at" is not null returning "id"`,
          [new Date(), id],
        );
      return released.length === 1;
    });
  }

  /**
   * For the job layer: removes the records and status history of servers deleted or errored more than
   * `olderThanDays` days ago (a positive number; InvalidInputError otherwise). Returns how many servers went.
   * Counts and limits never include such servers, so pruning changes no count.
   */
  pruneFinished(olderThanDays: number): Promise<number> {
    return this.#run(async () => {
      if (typeof olderThanDays !== 'number' || !Number.isFinite(olderThanDays) || olderThanDays <= 0) {
        throw new InvalidInputError(`olderThanDays is a positive number of days, got ${String(olderThanDays)}`);
      }
      const before = new Date(Date.now() - olderThanDays * 86_400_000);
      return this.#orm.em.fork().transactional((em) => pruneServerRecords(em, before));
    });
  }

  /**
   * Calls `listener` on every `event` from now on, whichever process made the change: this instance's own changes
   * right after they commit, other processes' as their notifications arrive. Returns a function that stops it.
   */
  on<Name extends DynamicServersEventName>(event: Name, listener: Listener<Name>): () => void {
    return this.#events.on(event, listener);
  }

  /** Stops calling `listener` on `event`. */
  off<Name extends DynamicServersEventName>(event: Name, listener: Listener<Name>): void {
    this.#events.off(event, listener);
  }

  /**
   * Refuses new calls (DynamicServersClosedError), waits for the calls in flight to finish, then closes the
   * database connections. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await this.#feed.close();
      await this.#orm.close();
    })();
    return this.#closing;
  }

  /** The configured server type named `name`, or InvalidNameError / UnknownServerTypeError. */
  #serverType(name: unknown): ResolvedServerType {
    const valid = parseName(name);
    const type = this.#config.serverTypes.get(valid);
    if (!type) throw new UnknownServerTypeError(valid, [...this.#config.serverTypes.keys()]);
    return type;
  }

  /** Runs one public call: refused once closing, awaited by `close()` while in flight. */
  async #run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new DynamicServersClosedError('this DynamicServers instance is closed');
    const running = call();
    this.#inFlight.add(running);
    try {
      return await running;
    } finally {
      this.#inFlight.delete(running);
    }
  }

  async #changeCount(type: ResolvedServerType, target: (provisioned: number) => number, reason: string): Promise<CountChange> {
    const settings = { type, reason, onLimitHit: this.#config.onLimitHit, victimStrategy: this.#victimStrategy, serverName: this.#serverName };
    return (await this.#commit((em) => changeServerCount(em, settings, target, new Date()))).change;
  }

  /** Runs `change` in one transaction of a fresh EntityManager; after the commit, enqueues its work and emits its events. */
  async #commit<T extends { effects: Effects }>(change: (em: EntityManager) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await this.#orm.em.fork().transactional(async (em) => {
        const changed = await change(em);
        await notifyEvents(em, this.#origin, changed.effects.events);
        return changed;
      });
    } catch (error) {
      throw translateDatabaseError(error);
    }
    let enqueueError: unknown = null;
    if (result.effects.work.length > 0) {
      try {
        await this.workQueue.enqueue(result.effects.work);
      } catch (error) {
        enqueueError = error;
      }
    }
    this.#events.emit(result.effects.events);
    if (enqueueError !== null) {
      throw new WorkNotEnqueuedError(`the change was committed but its ${result.effects.work.length} work items were not enqueued: ${String(enqueueError)}`, { cause: enqueueError });
    }
    return result;
  }
}
