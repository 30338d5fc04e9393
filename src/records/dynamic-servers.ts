import { DEFAULT_SERVER_TYPE, type LimitHitPolicy, type ResolvedServerType } from './config.ts';
import { ChangeQueue } from './change-queue.ts';
import { changeServerCount, lockProviderWhenLimited, readTypesForChanges, turnNeeds, type CarriedBasis, type ChangeBasis, type CountChange, type CountTarget } from './count-change.ts';
import { readCosts, type TypeCost } from './costs.ts';
import { ServerRecordNotFoundError } from './errors.ts';
import type { Effects } from './effects.ts';
import type { DynamicServersEventName, Listener } from './events.ts';
import { parseCount, parseStep } from './input.ts';
import {
  countPerStatus,
  countProvisioned,
  findDesiredState,
  findServer,
  findServerRef,
  findServers,
  findStatusHistory,
  parseServerQuery,
  parseServerReference,
  type ServerQuery,
} from './queries.ts';
import type { JsonObject } from './json.ts';
import { mergeServerMeta, parseMeta } from './meta.ts';
import { requestReboot, type RebootRequest } from './reboot.ts';
import { RecordsCore } from './records-core.ts';
import { deleteServer, type DeleteRequest } from './server-delete.ts';
import type { DesiredStateRecord, ServerRecord, StatusChangeRecord } from './records.ts';
import { listServerTypes, resolveServerType, type PublishedServerType } from './registry.ts';
import type { Transaction } from './sql.ts';
import { readRolloutStatus, setRolloutPaused, type RolloutStatus } from './rollout.ts';
import type { ServerNameAction } from './server-names.ts';
import type { ServerStatus } from './statuses.ts';
import { parseServerId } from './transitions.ts';
import type { VictimStrategy } from './victims.ts';

/**
 * How to open DynamicServers. Only `databaseUrl` is required: the server types, their providers, templates and
 * limits come from the stack files published to that database (`npx dynamic-servers publish`).
 */
export interface DynamicServersOptions {
  /** PostgreSQL connection URL (holds the password: never logged). */
  databaseUrl: string;
  /** What hitting a limit does; `'emit'` (the default) creates what fits and emits `limitHit`, `'throw'` refuses the change. */
  onLimitHit?: LimitHitPolicy;
  /** Which servers a decrease stops; default notRunningFirstThenNewest. */
  victimStrategy?: VictimStrategy;
  /** Names new servers; default `<type>-<id>-<installation>` (typeIdAndInstallationName). */
  serverName?: ServerNameAction;
  /** Most database connections this instance opens (default 10). */
  poolSize?: number;
  /** Receives errors thrown by event listeners; default logs them to stderr. */
  onListenerError?: (error: unknown, event: DynamicServersEventName) => void;
}

/**
 * The changes of one type in a turn that runs together (see change-queue.ts), as they run one after the other in its
 * transaction: their targets, and the basis each passes on to the next (the first's read when the turn opened).
 */
interface TypeTurn {
  targets: CountTarget[];
  carried: (CarriedBasis & { type: ResolvedServerType }) | null;
}

/** One count change of a type: its type's name, its target, and how it runs in a transaction (alone, or in `turn`). */
interface CountChangeRun {
  name: string;
  target: CountTarget;
  run: (tx: Transaction, turn: TypeTurn | null) => Promise<{ change: CountChange; effects: Effects }>;
}

/**
 * At most this many count changes waiting in one process run together in one transaction (each holds its type's
 * lock that long).
 */
const MAX_CHANGES_TOGETHER = 32;

/**
 * Opens a turn of count changes that run together in `tx`: takes the lock of every type of `turns` and reads each
 * (one round trip, see readTypesForChanges), then takes the lock of each limited provider among them, in the order
 * of the providers' names, before any change writes (a transaction that has written rows must not wait for a lock:
 * one holding it could be waiting for those rows). Throws when a type is not configured (each change then runs
 * alone, and gets its own error).
 */
async function openTurns(tx: Transaction, turns: Map<string, TypeTurn>, unknownType: (name: string) => Promise<Error>): Promise<void> {
  const names = [...turns.keys()];
  const bases = await readTypesForChanges(
    tx,
    names.map((name) => {
      const { targets } = turns.get(name) as TypeTurn;
      return { serverType: name, target: targets[0] as CountTarget, turn: turnNeeds(targets) };
    }),
  );
  const byProvider = new Map<string, ResolvedServerType>();
  for (const [index, basis] of bases.entries()) {
    const name = names[index] as string;
    if (!basis.type) throw await unknownType(name);
    (turns.get(name) as TypeTurn).carried = { ...basis, type: basis.type };
    byProvider.set(basis.type.provider, basis.type);
  }
  for (const provider of [...byProvider.keys()].sort()) lockProviderWhenLimited(tx, byProvider.get(provider) as ResolvedServerType);
}

/** The core of each instance, for EngineRecords (the engine's view of the same records); not part of the API. */
let coreOfInstance: (servers: DynamicServers) => RecordsCore;

/**
 * The server records of one database: how many servers of each published server type should exist, every server
 * ever asked for, and its status history. Each change runs in one transaction under its server type's lock (so
 * concurrent calls from any number of processes apply one after the other and never overrun a limit), reads the
 * type's published configuration inside it, and on commit wakes the workers and emits its events in every process.
 * Open with `DynamicServers.open`, finish with `close()`.
 */
export class DynamicServers {
  readonly #core: RecordsCore;
  /** The count changes: those that wait for their type or for a connection run together (see change-queue.ts). */
  readonly #countChanges: ChangeQueue<CountChangeRun, { change: CountChange; effects: Effects }>;

  static {
    coreOfInstance = (servers) => servers.#core;
  }

  /** Use `DynamicServers.open`. */
  protected constructor(core: RecordsCore) {
    this.#core = core;
    this.#countChanges = new ChangeQueue({
      runAlone: (change) => core.commit((tx) => change.run(tx, null)),
      runTogether: (changes) => {
        const turns = new Map<string, TypeTurn>();
        for (const change of changes) {
          const turn = turns.get(change.name);
          if (turn) turn.targets.push(change.target);
          else turns.set(change.name, { targets: [change.target], carried: null });
        }
        // A change that runs again alone, after the turn failed, is told so (`together` false) and reads for itself.
        return core.commitTogether(
          changes.map((change) => (tx, together) => change.run(tx, together ? (turns.get(change.name) as TypeTurn) : null)),
          (tx) => openTurns(tx, turns, (name) => core.unknownType(name)),
        );
      },
      maxTogether: MAX_CHANGES_TOGETHER,
      maxRunning: core.poolSize,
    });
  }

  /**
   * Validates the options (InvalidConfigurationError, also for options that no longer exist such as
   * `serverTypes`), connects, and runs the migrations that have not run yet (one process at a time). The returned
   * instance holds connections until `close()`.
   */
  static async open(options: DynamicServersOptions): Promise<DynamicServers> {
    return new DynamicServers(await RecordsCore.open(options));
  }

  /**
   * Makes the type have exactly `count` provisioned servers (as far as the limits allow): creates servers with
   * status `new` from the type's published template, or moves the victim strategy's choice to `stopping`.
   * `count` is a whole number from 0 to MAX_COUNT_PER_CALL; `serverType` undefined means `default`. A type that is
   * not published throws UnknownServerTypeError (NothingPublishedError when nothing was ever published).
   */
  ensure(serverType: string = DEFAULT_SERVER_TYPE, count: number): Promise<CountChange> {
    return this.#core.run(async () => {
      const wanted = parseCount(count);
      return this.#changeCount(await this.#core.publishedName(serverType), { from: 'zero', add: wanted }, (name) => `ensure(${name}, ${wanted})`);
    });
  }

  /** Adds `by` (1 by default) provisioned servers to the type, as far as the limits allow. */
  increase(serverType: string = DEFAULT_SERVER_TYPE, by = 1): Promise<CountChange> {
    return this.#core.run(async () => {
      const step = parseStep(by);
      return this.#changeCount(await this.#core.publishedName(serverType), { from: 'desiredCount', add: step }, (name) => `increase(${name}, ${step})`);
    });
  }

  /** Stops `by` (1 by default) provisioned servers of the type, chosen by the victim strategy; fewer if fewer exist. */
  decrease(serverType: string = DEFAULT_SERVER_TYPE, by = 1): Promise<CountChange> {
    return this.#core.run(async () => {
      const step = parseStep(by);
      return this.#changeCount(await this.#core.publishedName(serverType), { from: 'desiredCount', add: -step }, (name) => `decrease(${name}, ${step})`);
    });
  }

  /**
   * Reboots the provisioned servers of one type (and no other): running ones now, new and starting ones once
   * they run (recorded in `rebootRequestedAt`).
   */
  reboot(serverType: string = DEFAULT_SERVER_TYPE): Promise<RebootRequest> {
    return this.#core.run(async () => {
      const name = await this.#core.publishedName(serverType);
      return (await this.#core.commit((tx) => requestReboot(tx, name, new Date()))).request;
    });
  }

  /**
   * Deletes one server, named by its id or its name: it goes to `stopping` and the workers delete it from the
   * cloud; its row keeps its history and last error. This is how a hanging or errored server kept for a person to
   * look at (policy `keep`) is removed. A server that counted takes one off its type's desired count, so no
   * replacement is made (use `increase` for one). A server already being deleted, or gone, is left as it is
   * (`changed: false`). Throws InvalidInputError for a malformed reference, ServerRecordNotFoundError when no server
   * has it.
   */
  delete(server: number | string): Promise<DeleteRequest> {
    return this.#core.run(async () => {
      const reference = parseServerReference(server);
      const found = await findServerRef(this.#core.fork(), reference);
      if (!found) throw new ServerRecordNotFoundError(`no server has ${typeof reference === 'number' ? 'id' : 'name or id'} ${reference}`);
      return (await this.#core.commit((tx) => deleteServer(tx, found, new Date()))).request;
    });
  }

  /**
   * The id of this database's installation: made once, when the database was first migrated, and kept in it. Every
   * server the installation creates carries it as the `installation` label (a tag on AWS) and, by default, at the end
   * of its name; the engine lists, adopts and sweeps only servers that carry it.
   */
  get installationId(): string {
    return this.#core.installationId;
  }

  /** Provisioned servers (new, starting, running, rebooting) of one type, or of all types when `serverType` is undefined. */
  provisionedCount(serverType?: string): Promise<number> {
    return this.#core.run(async () => {
      const name = serverType === undefined ? undefined : await this.#core.publishedName(serverType);
      return countProvisioned(this.#core.fork(), name);
    });
  }

  /** Servers in each status (every status present) of one type, or of all types when `serverType` is undefined. */
  countPerStatus(serverType?: string): Promise<Record<ServerStatus, number>> {
    return this.#core.run(async () => {
      const name = serverType === undefined ? undefined : await this.#core.publishedName(serverType);
      return countPerStatus(this.#core.fork(), name);
    });
  }

  /** Servers matching the query, oldest first; all servers without one. */
  servers(query: ServerQuery = {}): Promise<ServerRecord[]> {
    return this.#core.run(async () => {
      const valid = parseServerQuery(query);
      if (valid.serverType !== undefined) await this.#core.publishedName(valid.serverType);
      return findServers(this.#core.fork(), valid);
    });
  }

  /** One server's record; ServerRecordNotFoundError when no server has the id. */
  server(serverId: number): Promise<ServerRecord> {
    return this.#core.run(async () => {
      const id = parseServerId(serverId);
      const server = await findServer(this.#core.fork(), id);
      if (!server) throw new ServerRecordNotFoundError(`no server has id ${id}`);
      return server;
    });
  }

  /**
   * Merges `meta` into the meta of server `serverId` and returns its record: the top-level keys of `meta` replace
   * those of the same name, the others stay. `meta` is a JSON object whose keys have 1 to 255 characters; the merged
   * meta may take at most 64 KiB as JSON (MAX_META_BYTES). No history row, no event. Throws InvalidInputError or
   * ServerRecordNotFoundError, writing nothing.
   */
  mergeMeta(serverId: number, meta: JsonObject): Promise<ServerRecord> {
    return this.#core.run(async () => {
      const id = parseServerId(serverId);
      const valid = parseMeta(meta);
      return this.#core.transaction((tx) => mergeServerMeta(tx, id, valid, new Date()));
    });
  }

  /** Every status change of one server, oldest first (the first row is its creation, from null to new). */
  statusHistory(serverId: number): Promise<StatusChangeRecord[]> {
    return this.#core.run(() => findStatusHistory(this.#core.fork(), parseServerId(serverId)));
  }

  /** The type's desired-state document: its count, its version and the version last applied. */
  desiredState(serverType: string = DEFAULT_SERVER_TYPE): Promise<DesiredStateRecord> {
    return this.#core.run(async () => findDesiredState(this.#core.fork(), await this.#core.publishedName(serverType)));
  }

  /**
   * Where the rollout of `serverType` stands: its policy, how many servers that count are old (made from another
   * template than the newest published one) and new, replacements on their way, servers draining, and whether it is
   * paused or halted (with why). A type that is not configured any more throws UnknownServerTypeError.
   */
  rollout(serverType: string): Promise<RolloutStatus> {
    return this.#core.run(async () => {
      const name = await this.#core.publishedName(serverType);
      return this.#core.transaction(async (tx) => readRolloutStatus(tx, await this.#configuredType(tx, name)));
    });
  }

  /**
   * Pauses the rollout of `serverType`: no further replacement is started (those on their way finish, and the
   * servers they replace leave) until `resumeRollout`. Returns where the rollout stands.
   */
  pauseRollout(serverType: string): Promise<RolloutStatus> {
    return this.#setRolloutPaused(serverType, true);
  }

  /**
   * Resumes the rollout of `serverType` after a pause or a halt (a failed server of the new template halts it; fix
   * and publish the template first, or the next replacement fails the same way), and wakes the workers. Returns
   * where the rollout stands.
   */
  resumeRollout(serverType: string): Promise<RolloutStatus> {
    return this.#setRolloutPaused(serverType, false);
  }

  /**
   * What each server type costs (see TypeCost): the money per hour of its servers the cloud has now, and the money
   * spent this month so far, from the status history; with its budget.
   */
  costs(): Promise<TypeCost[]> {
    return this.#core.run(() => readCosts(this.#core.fork(), new Date()));
  }

  /** The configured server types (the newest published version of each stack file), by name. */
  serverTypes(): Promise<PublishedServerType[]> {
    return this.#core.run(() => listServerTypes(this.#core.fork()));
  }

  /**
   * Calls `listener` on every `event` from now on, whichever process made the change: this instance's own changes
   * right after they commit, other processes' as their notifications arrive. The instance listens to other
   * processes' events only while it has a listener: the first one added starts that (one round trip; other
   * processes' changes committed before it are not heard), and stopping the last one ends it. Returns a function
   * that stops `listener`.
   */
  on<Name extends DynamicServersEventName>(event: Name, listener: Listener<Name>): () => void {
    return this.#core.events.on(event, listener);
  }

  /** Stops calling `listener` on `event`. */
  off<Name extends DynamicServersEventName>(event: Name, listener: Listener<Name>): void {
    this.#core.events.off(event, listener);
  }

  /**
   * Refuses new calls (DynamicServersClosedError), waits for the calls in flight to finish, then closes the
   * database connections. Safe to call more than once.
   */
  close(): Promise<void> {
    return this.#core.close();
  }

  async #setRolloutPaused(serverType: string, paused: boolean): Promise<RolloutStatus> {
    return this.#core.run(async () => {
      const name = await this.#core.publishedName(serverType);
      const committed = await this.#core.commit(async (tx) => {
        const type = await this.#configuredType(tx, name);
        const effects = await setRolloutPaused(tx, name, paused, new Date());
        return { status: await readRolloutStatus(tx, type), effects };
      });
      return committed.status;
    });
  }

  /** The configuration of the type `name`, read in `tx`; UnknownServerTypeError when it is retired. */
  async #configuredType(tx: Transaction, name: string): Promise<ResolvedServerType> {
    const type = await resolveServerType(tx, name);
    if (!type) throw await this.#core.unknownType(name);
    return type;
  }

  /**
   * One count change of the published type `name`, its configuration read under the type's lock in the change's
   * transaction (a publication that retires the type holds the same lock). Changes made in this process while their
   * type's change runs, or while every connection is busy, wait, then run together in one transaction (see
   * change-queue.ts): the turn's first statement reads each of their types, each change after the first of its type
   * starts from what the one before it left (see CarriedBasis).
   */
  async #changeCount(name: string, target: CountTarget, reason: (name: string) => string): Promise<CountChange> {
    const core = this.#core;
    const run = async (tx: Transaction, turn: TypeTurn | null) => {
      let basis = turn?.carried;
      if (!basis) {
        const [read] = (await readTypesForChanges(tx, [{ serverType: name, target }])) as [ChangeBasis];
        if (!read.type) throw await core.unknownType(name);
        basis = { ...read, type: read.type };
      }
      const settings = { type: basis.type, reason: reason(name), onLimitHit: core.onLimitHit, victimStrategy: core.victimStrategy, naming: core.naming };
      const changed = await changeServerCount(tx, settings, basis, target, new Date());
      if (turn) turn.carried = { ...changed.basisAfter, type: basis.type };
      return changed;
    };
    const committed = await this.#countChanges.run(name, { name, target, run });
    return committed.change;
  }
}

/** The shared core of `servers`, for the engine's view of the same records. Not part of the API. */
export function recordsCoreOf(servers: DynamicServers): RecordsCore {
  return coreOfInstance(servers);
}
