// What every view of one records database shares: the ORM, the event listeners and the feed from other processes,
// the calls in flight, and the one way a change is committed (its effects notified inside its transaction, its
// events emitted here after the commit). DynamicServers (what scripts call) and EngineRecords (what the engine and
// the jobs call) are two views of one core.
import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { inTransaction, type Transaction } from './sql.ts';
import { createLogger, type Logger } from '../logging/logger.ts';
import type { ChangeOutcome } from './change-queue.ts';
import type { LimitHitPolicy } from './config.ts';
import type { DynamicServersOptions } from './dynamic-servers.ts';
import type { Effects } from './effects.ts';
import { DynamicServersClosedError, InvalidConfigurationError, InvalidServerNameError, NothingPublishedError, UnknownServerTypeError } from './errors.ts';
import { EventFeed, notifyEffects } from './event-feed.ts';
import { ServerEvents } from './events.ts';
import { parseName } from './input.ts';
import { migrateRecords, openRecordsOrm } from './orm.ts';
import { findServer, readInstallationId } from './queries.ts';
import { anythingPublished, listServerTypes, listServerTypeVersions } from './registry.ts';
import { typeIdAndInstallationName, type ServerNameAction, type ServerNaming } from './server-names.ts';
import { notRunningFirstThenNewest, type VictimStrategy } from './victims.ts';

/** How a records core opens: the public options of DynamicServers.open and what only the engine sets. */
export interface RecordsCoreOptions extends DynamicServersOptions {
  /** Receives every server type a change of any process woke (the workers schedule its reconcile). */
  onWork?: (serverType: string) => void;
  /** Called after every publication that changed the configuration. */
  onConfig?: () => void;
  /**
   * Removes secrets from error texts before they are stored (a cloud may repeat a credential in its answer);
   * EngineRecords applies it to every recorded error's message and stack. Default: the text unchanged.
   */
  scrubText?: (text: string) => string;
}

/** Turns a database error a change can cause into the typed error callers expect; other errors pass through. */
function translateDatabaseError(error: unknown): unknown {
  if (error instanceof UniqueConstraintViolationException && (error as { constraint?: string }).constraint === 'server_name_unique') {
    return new InvalidServerNameError('the server name action returned a name another server already has', { cause: error });
  }
  return error;
}

function stderrLogger(): () => Logger {
  let logger: Logger | null = null;
  return () => (logger ??= createLogger());
}

/** The shared state of one open records database. Internal: scripts reach it only through DynamicServers. */
export class RecordsCore {
  readonly orm: MikroORM;
  readonly events: ServerEvents;
  readonly onLimitHit: LimitHitPolicy;
  readonly victimStrategy: VictimStrategy;
  readonly serverName: ServerNameAction;
  /** How this installation names its new servers: the name action and the installation id. */
  get naming(): ServerNaming {
    return { serverName: this.serverName, installation: this.installationId };
  }

  /** The most connections this core's pool opens. */
  readonly poolSize: number;
  /** See RecordsCoreOptions.scrubText. */
  readonly scrubText: (text: string) => string;
  /** The id of this database's installation (its `installation` row); every server it creates carries it. */
  installationId = '';
  /** Tags this core's notifications, so its feed skips its own events. */
  readonly #origin: string;
  #feed: EventFeed | null = null;
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | null = null;
  /** Names of every server type ever published (retired ones included), for checking the names reads are given. */
  #publishedNames: Set<string> | null = null;

  private constructor(orm: MikroORM, options: RecordsCoreOptions, events: ServerEvents, poolSize: number) {
    this.orm = orm;
    this.poolSize = poolSize;
    this.events = events;
    this.onLimitHit = options.onLimitHit ?? 'emit';
    this.victimStrategy = options.victimStrategy ?? notRunningFirstThenNewest;
    this.serverName = options.serverName ?? typeIdAndInstallationName;
    this.scrubText = options.scrubText ?? ((text) => text);
    this.#origin = randomUUID();
  }

  /**
   * Validates the options (InvalidConfigurationError), connects, runs the migrations that have not run yet (one
   * process at a time) and starts listening to other processes. Holds connections until `close()`.
   */
  static async open(options: RecordsCoreOptions): Promise<RecordsCore> {
    if (typeof options?.databaseUrl !== 'string' || options.databaseUrl === '') throw new InvalidConfigurationError('invalid options: databaseUrl is required');
    const poolSize = options.poolSize ?? 10;
    if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > 500) throw new InvalidConfigurationError(`invalid options: poolSize must be a whole number from 1 to 500, got ${poolSize}`);
    if (options.onLimitHit !== undefined && options.onLimitHit !== 'emit' && options.onLimitHit !== 'throw') {
      throw new InvalidConfigurationError(`invalid options: onLimitHit must be 'emit' or 'throw', got ${JSON.stringify(options.onLimitHit)}`);
    }
    for (const key of ['victimStrategy', 'serverName', 'onListenerError', 'onWork', 'onConfig', 'scrubText'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'function') throw new InvalidConfigurationError(`invalid options: ${key} must be a function`);
    }
    const known = new Set(['databaseUrl', 'onLimitHit', 'victimStrategy', 'serverName', 'poolSize', 'onListenerError', 'onWork', 'onConfig', 'scrubText']);
    const unknown = Object.keys(options).filter((key) => !known.has(key));
    if (unknown.length > 0) {
      const hint = unknown.some((key) => key === 'serverTypes' || key === 'providers')
        ? '; server types and provider limits come from the published stack files (`npx dynamic-servers publish`), not from code'
        : '';
      throw new InvalidConfigurationError(`invalid options: unknown option ${unknown.map((key) => JSON.stringify(key)).join(', ')}${hint}`);
    }
    const logger = stderrLogger();
    const events = new ServerEvents(options.onListenerError ?? ((error, event) => logger().error({ err: error, event }, 'an event listener threw')));
    const orm = await openRecordsOrm(options.databaseUrl, poolSize);
    const core = new RecordsCore(orm, options, events, poolSize);
    try {
      await migrateRecords(orm, options.databaseUrl);
      core.installationId = await readInstallationId(orm.em.fork());
      core.#feed = await EventFeed.start({
        databaseUrl: options.databaseUrl,
        origin: core.#origin,
        deliver: (event) => events.emit([event], true),
        loadServer: (serverId) => findServer(orm.em.fork(), serverId),
        onError: (error) => logger().warn({ err: error }, 'the event feed from other processes had a problem'),
        ...(options.onWork ? { onWork: options.onWork } : {}),
        onConfig: () => {
          core.#publishedNames = null;
          options.onConfig?.();
        },
      });
    } catch (error) {
      await orm.close();
      throw error;
    }
    // Other processes' events are listened to only while this instance has listeners: without any, each of them
    // would only cost this process and the database a delivery.
    events.onAnyListeners = (any) => void core.#feed?.listenToEvents(any);
    return core;
  }

  /**
   * Resolves once the event feed listens as this instance's listeners want: after it, every event another process
   * commits reaches them (while the connection holds).
   */
  eventsListening(): Promise<void> {
    return this.#feed?.listenToEvents(this.events.anyListeners) ?? Promise.resolve();
  }

  /** A fresh EntityManager for one read. */
  fork(): EntityManager {
    return this.orm.em.fork();
  }

  /** Runs one call: refused once closing, awaited by `close()` while in flight. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closing) throw new DynamicServersClosedError('this DynamicServers instance is closed');
    const running = call();
    this.#inFlight.add(running);
    try {
      return await running;
    } finally {
      this.#inFlight.delete(running);
    }
  }

  /**
   * Runs `change` in one transaction (see sql.ts), sending its effects as notifications inside it; after the commit,
   * calls this process's listeners of its events.
   */
  async commit<T extends { effects: Effects }>(change: (tx: Transaction) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await this.transaction(async (tx) => {
        const changed = await change(tx);
        notifyEffects(tx, this.#origin, changed.effects);
        return changed;
      });
    } catch (error) {
      throw translateDatabaseError(error);
    }
    this.events.emit(result.effects.events);
    return result;
  }

  /**
   * Runs `open` (when given), then `changes` in order, in one transaction, each seeing what the ones before it wrote
   * (each is told, by its second argument, that it runs together with others), their effects notified inside it in
   * one statement after the last of them; after the commit, calls this process's listeners of their events, change
   * by change. When one of them or `open` throws, or the database refuses the transaction, nothing of it is committed
   * and each change runs again in a transaction of its own (`commit`), so each gets the outcome it would have had
   * alone. When the connection is lost while the commit is on its way, whether it committed is unknown: every change
   * gets that error.
   */
  async commitTogether<T extends { effects: Effects }>(
    changes: readonly ((tx: Transaction, together?: boolean) => Promise<T>)[],
    open?: (tx: Transaction) => Promise<void>,
  ): Promise<ChangeOutcome<T>[]> {
    let committing = false;
    let results: T[];
    try {
      results = await this.transaction(async (tx) => {
        await open?.(tx);
        const done: T[] = [];
        for (const change of changes) done.push(await change(tx, true));
        // One statement for the whole turn: the events in the changes' order, each type woken once.
        notifyEffects(tx, this.#origin, { events: done.flatMap((changed) => changed.effects.events), wake: done.flatMap((changed) => changed.effects.wake) });
        committing = true;
        return done;
      });
    } catch (error) {
      if (committing && !(error instanceof DriverException)) return changes.map(() => ({ ok: false, error }));
      const outcomes: ChangeOutcome<T>[] = [];
      for (const change of changes) {
        outcomes.push(await this.commit(change).then((value): ChangeOutcome<T> => ({ ok: true, value }), (failure: unknown): ChangeOutcome<T> => ({ ok: false, error: failure })));
      }
      return outcomes;
    }
    for (const result of results) this.events.emit(result.effects.events);
    return results.map((value) => ({ ok: true, value }));
  }

  /** Runs `work` in one transaction that has no effects to send (reads that must agree, or writes nobody hears of). */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return inTransaction(this.orm, work);
  }

  /**
   * `name` as a server type that was published at some time (retired ones included, so their records stay
   * readable); InvalidNameError for a malformed name, UnknownServerTypeError (NothingPublishedError on a database
   * where nothing was published) otherwise.
   */
  async publishedName(name: unknown): Promise<string> {
    const valid = parseName(name);
    if (this.#publishedNames?.has(valid)) return valid;
    const versions = await listServerTypeVersions(this.fork());
    this.#publishedNames = new Set(versions.map((version) => version.name));
    if (this.#publishedNames.has(valid)) return valid;
    throw await this.unknownType(valid);
  }

  /** The error for a change of `serverType`, which is not configured: which types are, or that nothing ever was. */
  async unknownType(serverType: string): Promise<UnknownServerTypeError> {
    const db = this.fork();
    if (!(await anythingPublished(db))) return new NothingPublishedError(serverType);
    return new UnknownServerTypeError(serverType, (await listServerTypes(db)).map((type) => type.name));
  }

  /**
   * Refuses new calls (DynamicServersClosedError), waits for the calls in flight to finish, then closes the
   * database connections. Safe to call more than once.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#inFlight]);
      await this.#feed?.close();
      await this.orm.close();
    })();
    return this.#closing;
  }
}
