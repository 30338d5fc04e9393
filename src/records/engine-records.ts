// The engine's view of the server records: everything a script may call, plus the writes only the stack engine
// and the jobs make (applied versions, status transitions, reboot claims, pruning, publishing the configuration).
// Scripts open DynamicServers and never reach these.
import { DynamicServers, recordsCoreOf } from './dynamic-servers.ts';
import { recordAppliedVersion } from './desired-state.ts';
import { claimDrain, endDrain, extendDrain, releaseDrainClaims, type DrainOutcome } from './drain.ts';
import { noEffects } from './effects.ts';
import { InvalidInputError, InvalidTransitionError, ServerRecordNotFoundError } from './errors.ts';
import { parseProviderName } from './input.ts';
import { readFleetFigures, readRecentTroubles, readStatusTimeline, type FleetFigures, type ServerTrouble, type TimelinePoint } from './fleet-figures.ts';
import { lockServerType } from './locks.ts';
import { moveToNextOffering } from './offering-fallback.ts';
import { pricesReadAt, recordOfferingPrices, unavailableOfferings, type RecordedPrice } from './offerings.ts';
import { pruneServerRecords } from './prune.ts';
import { replenishServers, type Replenishment } from './replenish.ts';
import { recordServerFailure, recordServerGone, replaceStoppedServer, type FailureStatus, type SeenStatus } from './server-failures.ts';
import { findDesiredState, findServers } from './queries.ts';
import type { DesiredStateRecord, ServerRecord } from './records.ts';
import { RecordsCore, type RecordsCoreOptions } from './records-core.ts';
import {
  DEFAULT_TYPE_SETTINGS,
  listProviders,
  listServerTypeVersions,
  publishConfiguration,
  resolveServerType,
  type PublishedProvider,
  type PublishedServerType,
  type Publication,
  type PublishReport,
} from './registry.ts';
import { advanceRollout, plannedServers, planRollout, type RolloutPlan, type RolloutStep } from './rollout.ts';
import { SERVER_STATUSES, type ServerStatus } from './statuses.ts';
import { parseServerId, parseStatus, parseTransitionDetails, transitionServer, type TransitionDetails, type ValidTransitionDetails } from './transitions.ts';

const FAILURE_STATUSES: readonly ServerStatus[] = ['hanging', 'errored'];

/** How the engine opens its records: the script options, plus the notifications only workers act on. */
export type EngineRecordsOptions = RecordsCoreOptions;

/**
 * The server records as the stack engine and the job layer use them. Everything DynamicServers offers, plus the
 * writes of the job layer. Open with `EngineRecords.openForEngine`; hand it only to the engine and the jobs.
 */
export class EngineRecords extends DynamicServers {
  /** Opens the records like DynamicServers.open; `onWork` and `onConfig` receive the workers' notifications. */
  static async openForEngine(options: EngineRecordsOptions): Promise<EngineRecords> {
    return new EngineRecords(await RecordsCore.open(options));
  }

  get #shared(): RecordsCore {
    return recordsCoreOf(this);
  }

  /**
   * Publishes the configuration: a new registry version for each changed server type and provider, the
   * retirement of those left out (ServerTypeInUseError while a type to retire has provisioned servers), and a
   * notification to every process. Each type with a new version wakes the workers (a changed template may start a
   * rollout). The caller validated `publication` (src/config).
   */
  publish(publication: Publication): Promise<PublishReport> {
    return this.#shared.run(async () => {
      const committed = await this.#shared.commit(async (tx) => {
        const report = await publishConfiguration(tx, publication, new Date());
        return { report, effects: { events: [], wake: report.published.map((published) => published.serverType) } };
      });
      return committed.report;
    });
  }

  /** Every published version of `serverType` (or of every type), oldest first, retired ones included. */
  serverTypeVersions(serverType?: string): Promise<PublishedServerType[]> {
    return this.#shared.run(() => listServerTypeVersions(this.#shared.fork(), serverType));
  }

  /** The provider limits in force. */
  providerLimits(): Promise<PublishedProvider[]> {
    return this.#shared.run(() => listProviders(this.#shared.fork()));
  }

  /** The fleet's counts, desired counts, transitions, launch failures and boot times (see readFleetFigures). */
  fleetFigures(bootBounds: readonly number[]): Promise<FleetFigures> {
    return this.#shared.run(() => readFleetFigures(this.#shared.fork(), bootBounds));
  }

  /** Servers per type and status at `moments` moments from `from`, `stepSeconds` apart, from the status history (see readStatusTimeline). */
  statusTimeline(from: Date, stepSeconds: number, moments: number): Promise<TimelinePoint[]> {
    return this.#shared.run(() => readStatusTimeline(this.#shared.fork(), from, stepSeconds, moments));
  }

  /** The latest `limit` servers that went errored or hanging, newest first (see readRecentTroubles). */
  recentTroubles(limit: number): Promise<ServerTrouble[]> {
    return this.#shared.run(() => readRecentTroubles(this.#shared.fork(), limit));
  }

  /**
   * Records that the work of every desired-state version up to `version` is done. Never moves the applied version
   * back; a version not reached yet is refused with InvalidInputError.
   */
  markApplied(serverType: string, version: number): Promise<DesiredStateRecord> {
    return this.#shared.run(async () => {
      const name = await this.#shared.publishedName(serverType);
      if (!Number.isSafeInteger(version) || version < 0) throw new InvalidInputError(`a desired-state version is a whole number from 0, got ${String(version)}`);
      await this.#shared.commit(async (tx) => {
        lockServerType(tx, name);
        await recordAppliedVersion(tx, name, version, new Date());
        return { effects: noEffects() };
      });
      return findDesiredState(this.#shared.fork(), name);
    });
  }

  /**
   * Moves a server to status `to` (see ALLOWED_TRANSITIONS), with its history row and event. A server reaching
   * `running` with a reboot pending goes on to `rebooting`. Throws InvalidInputError, ServerRecordNotFoundError or
   * InvalidTransitionError without writing anything.
   */
  recordTransition(serverId: number, to: ServerStatus, details: TransitionDetails): Promise<ServerRecord> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      const status = parseStatus(to);
      const valid = this.#scrubbed(parseTransitionDetails(details));
      const server = await this.#serverRef(id);
      return (await this.#shared.commit((tx) => transitionServer(tx, server, status, valid, new Date()))).server;
    });
  }

  /**
   * Moves each server to its status as recordTransition does, all in one transaction (one commit for a whole
   * update's results). A server whose move is no longer allowed (it moved on meanwhile) or that is gone is left as it
   * is: null in its place. Throws InvalidInputError for a malformed move before anything is written.
   */
  recordTransitions(moves: readonly { serverId: number; to: ServerStatus; details: TransitionDetails }[]): Promise<(ServerRecord | null)[]> {
    return this.#shared.run(async () => {
      const valid = moves.map((move) => ({ id: parseServerId(move.serverId), to: parseStatus(move.to), details: this.#scrubbed(parseTransitionDetails(move.details)) }));
      if (valid.length === 0) return [];
      const rows = await this.#shared.fork().execute<{ id: string | number; type: string }[]>('select "id", "type" from "server" where "id" in (?)', [valid.map((move) => move.id)]);
      const typeOf = new Map(rows.map((row) => [Number(row.id), row.type]));
      const committed = await this.#shared.commit(async (tx) => {
        // Every type's lock first, in the order of the names (see readTypesForChanges); each move takes its own again.
        for (const name of [...new Set(typeOf.values())].sort()) lockServerType(tx, name);
        const now = new Date();
        const effects = noEffects();
        const recorded: (ServerRecord | null)[] = [];
        for (const move of valid) {
          const serverType = typeOf.get(move.id);
          const moved = serverType === undefined ? null : await movedUnlessMovedOn(() => transitionServer(tx, { id: move.id, serverType }, move.to, move.details, now));
          recorded.push(moved?.server ?? null);
          effects.events.push(...(moved?.effects.events ?? []));
          effects.wake.push(...(moved?.effects.wake ?? []));
        }
        return { recorded, effects };
      });
      return committed.recorded;
    });
  }

  /**
   * Records that a server hung or errored, with what follows in the same transaction (see recordServerFailure): the
   * type's policy for such servers (`delete` moves one the cloud has on to `stopping`, `keep` leaves it), the
   * back-off of the type's creates for a failed create (`backingOff` event), and a replacement when it counted.
   * `seen` is the status (and since when) the failure was judged on: a server that has moved since is left alone,
   * and null returned. Throws InvalidInputError, ServerRecordNotFoundError or InvalidTransitionError without writing
   * anything.
   */
  recordFailure(serverId: number, to: FailureStatus, details: TransitionDetails, seen?: SeenStatus): Promise<ServerRecord | null> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      if (!FAILURE_STATUSES.includes(to)) throw new InvalidInputError(`a failure ends a server hanging or errored, not ${String(to)}`);
      if (seen !== undefined && (!(seen.since instanceof Date) || Number.isNaN(seen.since.getTime()))) throw new InvalidInputError('seen.since must be a valid Date');
      const status = seen === undefined ? undefined : parseStatus(seen.status);
      const valid = this.#scrubbed(parseTransitionDetails(details));
      const server = await this.#serverRef(id);
      const view = seen === undefined ? undefined : { status: status!, since: seen.since };
      return (await this.#shared.commit((tx) => recordServerFailure(tx, server, to, valid, this.#shared.naming, new Date(), view))).server;
    });
  }

  /**
   * Records that the cloud no longer has a running or rebooting server (it answered not found: deleted outside the
   * engine): `deleted` with `reason` (which names the cloud), and a replacement unless the type's creates are
   * paused. Returns null, writing nothing, when the server is no longer running or rebooting.
   */
  recordGone(serverId: number, reason: string): Promise<ServerRecord | null> {
    return this.#driftWrite(serverId, reason, recordServerGone);
  }

  /**
   * Replaces a running server the cloud reports stopped: it goes to `stopping` with `reason` (the next `pulumi up`
   * deletes it) and a replacement is created unless the type's creates are paused. Returns null, writing nothing,
   * when the server is no longer running.
   */
  replaceStopped(serverId: number, reason: string): Promise<ServerRecord | null> {
    return this.#driftWrite(serverId, reason, replaceStoppedServer);
  }

  /** One drift write (`write`, e.g. recordServerGone) of server `serverId` with `reason`, inputs validated first. */
  #driftWrite(serverId: number, reason: string, write: typeof recordServerGone): Promise<ServerRecord | null> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      const valid = this.#scrubbed(parseTransitionDetails({ reason }));
      const server = await this.#serverRef(id);
      return (await this.#shared.commit((tx) => write(tx, server, valid.reason, this.#shared.naming, new Date()))).server;
    });
  }

  /**
   * Creates the servers the type's desired count misses (servers that hung, errored or vanished), unless its
   * creates are paused by its back-off; writes nothing when none is missing. A type that is not configured
   * (retired) gets none.
   */
  replenish(serverType: string): Promise<Replenishment> {
    return this.#shared.run(async () => {
      const name = await this.#shared.publishedName(serverType);
      const committed = await this.#shared.commit(async (tx) => {
        // Read under the type's lock, as a publication retires it under that lock.
        lockServerType(tx, name);
        const type = await resolveServerType(tx, name);
        if (!type) return { replenishment: { serverType: name, createdServerIds: [], missing: 0, createsPausedUntil: null }, effects: noEffects() };
        return replenishServers(tx, type, this.#shared.naming, new Date());
      });
      return committed.replenishment;
    });
  }

  /**
   * Takes the next step of the type's rollout and makes up its desired count (see advanceRollout): creates the
   * servers it misses and the replacements maxSurge allows, and drains the old servers maxUnavailable lets go
   * first. Writes nothing when there is nothing to do (or the type is not configured any more).
   */
  advanceRollout(serverType: string): Promise<RolloutStep | null> {
    return this.#shared.run(async () => {
      const name = await this.#shared.publishedName(serverType);
      const committed = await this.#shared.commit(async (tx) => {
        // Read under the type's lock, as a publication retires it under that lock.
        lockServerType(tx, name);
        const type = await resolveServerType(tx, name);
        if (!type) return { step: null, effects: noEffects() };
        return advanceRollout(tx, type, this.#shared.naming, new Date());
      });
      return committed.step;
    });
  }

  /**
   * The next step of the type's rollout (and the servers its desired count misses), computed without writing
   * anything (see planRollout); null when the type is not configured any more.
   */
  rolloutPlan(serverType: string): Promise<RolloutPlan | null> {
    return this.#shared.run(async () => {
      const name = await this.#shared.publishedName(serverType);
      return this.#shared.transaction(async (tx) => {
        const type = await resolveServerType(tx, name);
        return type ? planRollout(tx, type, new Date()) : null;
      });
    });
  }

  /**
   * The servers the next reconcile of the type declares, computed without writing anything (see plannedServers):
   * its live rows plus the servers the next rollout step creates, named as they will be, and the replacements among
   * them. A type that is not configured any more declares its rows only.
   */
  plannedServers(serverType: string): Promise<{ servers: ServerRecord[]; replacements: { create: string; replaces: string }[] }> {
    return this.#shared.run(async () => {
      const name = await this.#shared.publishedName(serverType);
      return this.#shared.transaction(async (tx) => {
        const type = await resolveServerType(tx, name);
        if (type) return plannedServers(tx, type, this.#shared.naming, new Date());
        return { servers: await findServers(this.#shared.fork(), { serverType: name, status: SERVER_STATUSES.filter((status) => status !== 'deleted') }), replacements: [] };
      });
    });
  }

  /**
   * Claims running the drain hook of a draining server, atomically: true when this caller did, false when the
   * server is not draining or another caller (in any process) claimed it. Only the winner calls the hook. No
   * history row, no event.
   */
  claimDrain(serverId: number): Promise<boolean> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      return this.#shared.transaction((tx) => claimDrain(tx, id, new Date()));
    });
  }

  /**
   * Gives back the drain claims of `serverIds` that are still draining (a process that stops while their hooks run
   * hands them to another process), and wakes their types' workers. Returns the ids released.
   */
  releaseDrainClaims(serverIds: readonly number[]): Promise<number[]> {
    return this.#shared.run(async () => {
      const ids = serverIds.map(parseServerId);
      const committed = await this.#shared.commit(async (tx) => {
        const released = await releaseDrainClaims(tx, ids, new Date());
        const types = released.length === 0 ? [] : await tx.execute<{ type: string }[]>('select distinct "type" from "server" where "id" in (?)', [released]);
        return { released, effects: { events: [], wake: types.map((row) => row.type) } };
      });
      return committed.released;
    });
  }

  /**
   * Pushes back the deadline of a draining server to `seconds` (a positive number) from now, never beyond its type's
   * `maxDrainSeconds` after the drain began, never earlier than it is. Returns the deadline in force. Throws
   * InvalidInputError, ServerRecordNotFoundError, or DrainEndedError when the server is no longer draining.
   */
  extendDrain(serverId: number, seconds: number): Promise<Date> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) throw new InvalidInputError(`a drain is extended by a positive number of seconds, got ${String(seconds)}`);
      const server = await this.#serverRef(id);
      return this.#shared.transaction(async (tx) => {
        const type = await resolveServerType(tx, server.serverType);
        return extendDrain(tx, server, seconds, (type?.drain ?? DEFAULT_TYPE_SETTINGS.drain).maxSeconds, new Date());
      });
    });
  }

  /**
   * Ends the drain of a server that began at `since` (its `statusUpdatedAt` when it went draining) with `outcome`,
   * as its type's `undrainedServers` policy says for a failed hook or a passed deadline (see endDrain). Returns the
   * server as written, or null when that drain is over already (or a `deadline` finds it pushed back).
   */
  endDrain(serverId: number, outcome: DrainOutcome, since: Date): Promise<ServerRecord | null> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      if (!(since instanceof Date) || Number.isNaN(since.getTime())) throw new InvalidInputError('since must be a valid Date');
      const server = await this.#serverRef(id);
      // A hook's error is stored like any other: cut to size, without the secrets the process knows.
      const failure = outcome.kind === 'failed' ? this.#scrubbed(parseTransitionDetails({ reason: 'the drain hook threw', error: outcome.error })).error : undefined;
      const scrubbed: DrainOutcome = failure ? { kind: 'failed', error: failure } : outcome;
      const committed = await this.#shared.commit(async (tx) => {
        const type = await resolveServerType(tx, server.serverType);
        return endDrain(tx, server, scrubbed, type?.undrainedServers ?? DEFAULT_TYPE_SETTINGS.undrainedServers, since, new Date());
      });
      return committed.server;
    });
  }

  /**
   * Moves a server waiting to be created (`new`, no provider id) off its offering (see moveToNextOffering): with
   * `refusal`, the cloud refused its create for capacity, and the offering is first marked unavailable for the type's
   * `unavailableOfferingSeconds` (`offeringUnavailable` event); without, it moves only when its offering is marked
   * unavailable now. It goes to the next of `offerings` (its own template's, in order) that is available and fits
   * the budgets; with none left it is errored with InsufficientCapacityError (counted by the back-off, replaced).
   * `seen` is the status it was judged in: a server that moved since is left alone (server null). Returns the
   * server as written and the offering it moved to (null when it did not move). Throws InvalidInputError or
   * ServerRecordNotFoundError without writing anything.
   */
  moveToNextOffering(serverId: number, offerings: readonly string[], seen: SeenStatus, refusal?: TransitionDetails['error']): Promise<{ server: ServerRecord | null; movedTo: string | null }> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      if (!Array.isArray(offerings) || offerings.length > 100 || !offerings.every((name) => typeof name === 'string' && name.length > 0 && name.length <= 255)) {
        throw new InvalidInputError('offerings must be a list of up to 100 offering names');
      }
      if (!(seen?.since instanceof Date) || Number.isNaN(seen.since.getTime())) throw new InvalidInputError('seen.since must be a valid Date');
      const view = { status: parseStatus(seen.status), since: seen.since };
      const error = refusal === undefined ? undefined : this.#scrubbed(parseTransitionDetails({ reason: 'refused for capacity', error: refusal })).error;
      const server = await this.#serverRef(id);
      const moved = await this.#shared.commit((tx) => moveToNextOffering(tx, server, offerings, this.#shared.naming, new Date(), view, error));
      return { server: moved.server, movedTo: moved.movedTo };
    });
  }

  /** The offerings of `provider` a cloud refused for capacity that every worker still skips now. */
  unavailableOfferings(provider: string): Promise<string[]> {
    return this.#shared.run(async () => [...(await unavailableOfferings(this.#shared.fork(), parseProviderName(provider), new Date()))].sort());
  }

  /** Replaces the hourly prices recorded for `provider` with `prices`, as just read from its cloud. */
  recordPrices(provider: string, prices: readonly RecordedPrice[]): Promise<void> {
    return this.#shared.run(async () => {
      const name = parseProviderName(provider);
      const valid = Array.isArray(prices) && prices.every((price) => typeof price?.offering === 'string' && price.offering !== '' && Number.isFinite(price.hourly) && price.hourly >= 0 && typeof price.currency === 'string');
      if (!valid) throw new InvalidInputError('prices must be a list of { offering, hourly (a number from 0), currency }');
      await this.#shared.transaction((tx) => recordOfferingPrices(tx, name, prices, new Date()));
    });
  }

  /** When the prices of `provider` were last recorded (recordPrices), or null when never. */
  pricesReadAt(provider: string): Promise<Date | null> {
    return this.#shared.run(() => pricesReadAt(this.#shared.fork(), parseProviderName(provider)));
  }

  /** The details with every secret the records know removed from the error's message and stack and the reason. */
  #scrubbed(details: ValidTransitionDetails): ValidTransitionDetails {
    const scrub = this.#shared.scrubText;
    const { error, reason } = details;
    return {
      ...details,
      reason: scrub(reason),
      ...(error ? { error: { ...error, message: scrub(error.message), stack: error.stack === null ? null : scrub(error.stack) } } : {}),
    };
  }

  /**
   * Claims the sending of a `rebooting` server's reboot to the cloud. In one atomic statement,
   * sets `rebootSentAt` to now when the server is `rebooting` and no reboot of its current request was claimed
   * yet; returns true when this call did, false otherwise (no such server, not rebooting, or claimed already by
   * another caller in any process). Only the caller that got true may ask the cloud to reboot the server, so one
   * request reboots it at most once. The claim stays until the server goes from `rebooting` to `running` (which
   * clears it with `rebootRequestedAt`) or the winner gives it back with `releaseRebootClaim`. A caller that dies
   * between the claim and the cloud's answer leaves the claim set: that reboot may be lost, never doubled.
   * No history row, no event. Throws InvalidInputError for a bad id.
   */
  claimReboot(serverId: number): Promise<boolean> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      const now = new Date();
      const claimed = await this.#shared
        .fork()
        .execute<{ id: string }[]>(
          `update "server" set "reboot_sent_at" = ?::timestamptz, "updated_at" = ?::timestamptz where "id" = ? and "status" = 'rebooting' and "reboot_sent_at" is null returning "id"`,
          [now, now, id],
        );
      return claimed.length === 1;
    });
  }

  /**
   * Gives back a reboot claim won with `claimReboot`, when the cloud did not take the reboot
   * (it answered with a TransientProviderError), so a later pass claims and sends it again. Clears `rebootSentAt`
   * of a server still `rebooting`; returns whether it cleared one. Only the caller holding the claim may call it.
   * No history row, no event. Throws InvalidInputError for a bad id.
   */
  releaseRebootClaim(serverId: number): Promise<boolean> {
    return this.#shared.run(async () => {
      const id = parseServerId(serverId);
      const released = await this.#shared
        .fork()
        .execute<{ id: string }[]>(
          `update "server" set "reboot_sent_at" = null, "updated_at" = ?::timestamptz where "id" = ? and "status" = 'rebooting' and "reboot_sent_at" is not null returning "id"`,
          [new Date(), id],
        );
      return released.length === 1;
    });
  }

  /** The id and type of server `id`; ServerRecordNotFoundError when there is none. */
  async #serverRef(id: number): Promise<{ id: number; serverType: string }> {
    const rows = await this.#shared.fork().execute<{ type: string }[]>('select "type" from "server" where "id" = ?', [id]);
    const serverType = rows[0]?.type;
    if (serverType === undefined) throw new ServerRecordNotFoundError(`no server has id ${id}`);
    return { id, serverType };
  }

  /**
   * Removes the records and status history of servers deleted or errored more than
   * `olderThanDays` days ago (a positive number; InvalidInputError otherwise). Returns how many servers went.
   * Counts and limits never include such servers, so pruning changes no count.
   */
  pruneFinished(olderThanDays: number): Promise<number> {
    return this.#shared.run(async () => {
      if (typeof olderThanDays !== 'number' || !Number.isFinite(olderThanDays) || olderThanDays <= 0) {
        throw new InvalidInputError(`olderThanDays is a positive number of days, got ${String(olderThanDays)}`);
      }
      const before = new Date(Date.now() - olderThanDays * 86_400_000);
      return this.#shared.transaction((tx) => pruneServerRecords(tx, before));
    });
  }
}

/**
 * The result of `transition`, or null when the server moved on meanwhile or is gone: both are found before the
 * transition writes anything, so the transaction goes on.
 */
async function movedUnlessMovedOn<T>(transition: () => Promise<T>): Promise<T | null> {
  try {
    return await transition();
  } catch (error) {
    if (error instanceof InvalidTransitionError || error instanceof ServerRecordNotFoundError) return null;
    throw error;
  }
}
