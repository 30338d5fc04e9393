import type { OutputMap, Stack } from '@pulumi/pulumi/automation/index.js';
import { InsufficientCapacityError, type ServerProvider } from '../../providers/contract.ts';
import type { EngineRecords } from '../records/engine-records.ts';
import { InvalidTransitionError } from '../records/errors.ts';
import type { ServerRecord } from '../records/records.ts';
import { SERVER_STATUSES } from '../records/statuses.ts';
import type { RolloutStep } from '../records/rollout.ts';
import { declareServers, isDeclared, type DeclarationFailure } from './declared-servers.ts';
import { DrainRunner, type DrainStep } from './drain-runner.ts';
import { detectDrift, type DriftReport } from './drift.ts';
import { StackEngineError, StackUpdateError } from './errors.ts';
import { createProvider } from './provider-registry.ts';
import { PlannedStepCollector, StepFailureCollector, type ResourceFailure } from './pulumi-adapter.ts';
import {
  clearSettledPendingCreates,
  deleteLeakedServers,
  emptyRecoveryReport,
  listOwnServers,
  recoveredAnything,
  serversToAdopt,
  stackHoldings,
  upCancellingStaleLocks,
  type LeakedServer,
  type RecoveryReport,
} from './recovery.ts';
import { stepError } from './step-errors.ts';
import { lockReboots, lockStack } from './stack-lock.ts';
import { openTypeStack, readStackConfig, type StackSettings } from './type-stack.ts';
import { VERIFIED_STATUSES, verifyServers, type VerifyReport } from './verifier.ts';

/** How to open a StackEngine. */
export interface StackEngineOptions extends StackSettings {
  /** The server records whose desired state the engine applies. */
  records: EngineRecords;
  /** The records' database; the per-type stack locks live there. */
  databaseUrl: string;
  /** A directory the engine owns (providers that keep files put them here). */
  dataDir: string;
  /** Environment the provider settings fall back to (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Told when a `pulumi up` of a type starts and ends (for logs, metrics and latency measurements); must not throw. */
  onUpdate?: (update: StackUpdate) => void;
  /** Told the decrypted secret values of a type's stack config when the engine reads it (so logs can scrub them); must not throw. */
  onSecrets?: (values: readonly string[]) => void;
  /** Told of an error of work no caller awaits (a drain hook's bookkeeping); default: written to stderr. Must not throw. */
  onError?: (error: unknown, context: string) => void;
  /**
   * Told, at the end of a reconcile (also one that failed), what it recovered from a dead update and which leaked
   * servers it deleted, when there was anything; must not throw.
   */
  onRecovery?: (serverType: string, recovery: RecoveryReport, leaksDeleted: readonly LeakedServer[]) => void;
}

/** One `pulumi up` of a type's stack, as StackEngineOptions.onUpdate hears of it. */
export interface StackUpdate {
  serverType: string;
  phase: 'start' | 'end';
  /** The desired-state version the update applies. */
  desiredVersion: number;
  /** Servers the program declares. */
  declared: number;
  /** At the end only: `failed` when `pulumi up` reported an error (a server it could not create or delete, or worse). */
  result?: 'succeeded' | 'failed';
}

/** What one reconcile of a type did. */
export interface ReconcileReport {
  serverType: string;
  /** `pulumi up` runs: 0 when the desired version was already applied. */
  updates: number;
  appliedVersion: number;
  /** Servers the cloud accepted to create (now starting) and to delete (now deleting). */
  starting: string[];
  deleting: string[];
  failed: ResourceFailure[];
  /** Servers whose declaration threw: recorded errored, left out of the update. */
  undeclared: DeclarationFailure[];
  /**
   * Servers moved on to another offering before being created: their offering was refused for capacity by this
   * update's `up`, or marked unavailable by any worker. Those with no offering left are errored (in `failed` when
   * this update's create was refused).
   */
  offeringMoves: { name: string; from: string; to: string | null }[];
  recovery: RecoveryReport;
  /** Servers of this installation and type that neither a record nor the stack held (left by a crash), deleted through the provider's API. */
  leaksDeleted: LeakedServer[];
  /** What the rollout step at the start created (null when the type is not configured any more). */
  rollout: RolloutStep | null;
  /** Drains this reconcile started (their hooks run on) or ended (their deadline had passed). */
  drains: DrainStep;
}

/** A planned change, by server name. */
export interface PlannedChanges {
  /** Names of the servers the next reconcile creates, deletes, updates or replaces (never the stack or a provider). */
  creates: string[];
  deletes: string[];
  updates: string[];
  /**
   * The engine's counts per operation (`same`, `create`, ...): they count the stack itself but no provider, so each
   * list above has as many names as its operation's count, less the stack's own step.
   */
  changeSummary: Record<string, number>;
  /** The rollout's replacements among `creates`, each with the server it replaces (drained once it runs). */
  replacements: { create: string; replaces: string }[];
}

/** Statuses of rows the engine may still have to act on (everything but deleted). */
const LIVE_STATUSES = SERVER_STATUSES.filter((status) => status !== 'deleted');

interface TypeContext {
  stack: Stack;
  provider: ServerProvider;
  /** The provider as the stack file names it (`local`, `@acme/dynamic-servers-foo`): the name rows and prices are kept under. */
  providerName: string;
  /** The rows the next program run declares; set before every up and preview. */
  rows: readonly ServerRecord[];
  /** The rows whose declaration threw in the last program run. */
  declarationFailures: DeclarationFailure[];
  /** Rows whose existing cloud server the next program run adopts: name → cloud id; set before every up. */
  adoptions: ReadonlyMap<string, string>;
}

/**
 * Turns each server type's desired state into servers through its Pulumi stack (one stack per type, the
 * program generated from each server row's stored template), then watches the cloud until each is running or
 * deleted. One update per stack at a time across all processes (a PostgreSQL advisory lock per type); types
 * proceed in parallel. Reconciling a type whose desired version is applied runs no Pulumi at all.
 */
export class StackEngine {
  readonly #options: StackEngineOptions;
  readonly #contexts = new Map<string, Promise<TypeContext>>();
  readonly #drains: DrainRunner;

  constructor(options: StackEngineOptions) {
    this.#options = options;
    const onError = options.onError ?? ((error: unknown, context: string) => process.stderr.write(`dynamic-servers: ${context}: ${String((error as Error)?.stack ?? error)}\n`));
    this.#drains = new DrainRunner({ records: options.records, projectDir: options.projectDir, onError });
  }

  /**
   * Applies the desired state of `serverType`: takes the next step of its rollout and makes up its desired count
   * (EngineRecords.advanceRollout), ends the drains whose deadline passed and starts the drain hooks no process runs
   * yet (DrainRunner.step: the hooks run on after this returns); then, under the type's stack lock, while the
   * desired version is ahead of the applied one (or rows wait for the stack), adopts servers a dead update created
   * for rows the stack does not hold, runs `up` (continuing past a failed server; a Pulumi lock left by a dead update
   * is cancelled and `up` runs again, see upCancellingStaleLocks), records each server's provider id or typed
   * failure (and the rows whose declaration threw), deletes servers of this installation that neither a record nor
   * the stack holds, and marks the version applied.
   */
  async reconcile(serverType: string): Promise<ReconcileReport> {
    const { records } = this.#options;
    const rollout = await records.advanceRollout(serverType);
    const drains = await this.#drains.step(serverType);
    const installation = records.installationId;
    const report: ReconcileReport = {
      serverType,
      updates: 0,
      appliedVersion: 0,
      starting: [],
      deleting: [],
      failed: [],
      undeclared: [],
      offeringMoves: [],
      recovery: emptyRecoveryReport(),
      leaksDeleted: [],
      rollout,
      drains,
    };
    const lock = await lockStack(this.#options.databaseUrl, serverType);
    try {
      let desired = await records.desiredState(serverType);
      let rows = await records.servers({ serverType, status: LIVE_STATUSES });
      let pendingSettled = false;
      while (desired.version > desired.appliedVersion || needsStackWork(rows)) {
        const context = await this.#context(serverType);
        const holdings = memoize(() => stackHoldings(context.stack));
        const waiting = rows.some((row) => row.status === 'new' && row.providerId === null);
        const adoptions = waiting ? await serversToAdopt(rows, await listOwnServers(context.provider, installation, serverType), holdings) : new Map<string, string>();
        for (const [name, providerId] of adoptions) report.recovery.adopted.push({ name, providerId });
        // A server the cloud already has is adopted where it is; the others skip the offerings found unavailable.
        const toCreate = rows.filter((row) => !adoptions.has(row.name));
        if (await this.#skipUnavailableOfferings(context.provider, toCreate, report)) rows = await records.servers({ serverType, status: LIVE_STATUSES });
        context.rows = rows;
        context.adoptions = adoptions;
        context.declarationFailures = [];
        const collector = new StepFailureCollector();
        const update = { serverType, desiredVersion: desired.version, declared: rows.filter(isDeclared).length };
        this.#options.onUpdate?.({ ...update, phase: 'start' });
        let updateError: unknown;
        let upOutputs: OutputMap | undefined;
        try {
          upOutputs = (await upCancellingStaleLocks(context.stack, () => context.stack.up({ onEvent: collector.onEvent, continueOnError: true }), report.recovery)).outputs;
        } catch (error) {
          updateError = error;
        }
        this.#options.onUpdate?.({ ...update, phase: 'end', result: updateError === undefined ? 'succeeded' : 'failed' });
        report.updates += 1;
        const failures = collector.failures().filter((failure) => rows.some((row) => row.name === failure.name));
        if (updateError !== undefined && failures.length === 0) {
          if (updateError instanceof StackEngineError) throw updateError;
          throw new StackUpdateError(`pulumi up of stack ${serverType} failed: ${String((updateError as Error).message ?? updateError)}`, { cause: updateError });
        }
        // A successful `up` has read the outputs already; a failed one returns none, so they are read once more.
        const outputs = upOutputs ?? (await context.stack.outputs());
        const providerIds = (outputs.providerIds?.value ?? {}) as Record<string, string>;
        await this.#recordResults(context.provider, rows, providerIds, failures, report);
        await this.#recordDeclarationFailures(rows, context.declarationFailures, report);
        // Leaks are measured by cloud id against the records and the stack, not by labels: a program cut short by
        // one server's failure exports no ids, yet the servers it did create are in the stack and must stay, while a
        // second server carrying a record's labels is neither the record's nor the stack's and goes.
        const recorded = await records.servers({ serverType, status: LIVE_STATUSES });
        const recordedIds = new Set(recorded.flatMap((row) => (row.providerId === null ? [] : [row.providerId])));
        const cloud = await listOwnServers(context.provider, installation, serverType);
        report.leaksDeleted.push(...(await deleteLeakedServers(context.provider, cloud, recordedIds, memoize(() => stackHoldings(context.stack)))));
        if (report.recovery.pendingOperations > 0 && !pendingSettled) {
          report.recovery.pendingCreatesCleared = await clearSettledPendingCreates(context.stack);
          pendingSettled = true;
        }
        await records.markApplied(serverType, desired.version);
        desired = await records.desiredState(serverType);
        rows = await records.servers({ serverType, status: LIVE_STATUSES });
      }
      report.appliedVersion = desired.appliedVersion;
      return report;
    } finally {
      await lock.release();
      // Also when the reconcile failed afterwards: what was recovered stays recovered.
      if (recoveredAnything(report.recovery) || report.leaksDeleted.length > 0) this.#options.onRecovery?.(serverType, report.recovery, report.leaksDeleted);
    }
  }

  /**
   * What the next reconcile of `serverType` would change, from a `pulumi preview` of the same program on the
   * rows it would declare: the live rows and the servers its rollout step would create (named as they will be; see
   * EngineRecords.plannedServers). Changes nothing: no row, no stack state, no cloud server.
   */
  async preview(serverType: string): Promise<PlannedChanges> {
    const context = await this.#context(serverType);
    const planned = await this.#options.records.plannedServers(serverType);
    context.rows = planned.servers;
    context.adoptions = new Map();
    const collector = new PlannedStepCollector();
    const result = await context.stack.preview({ onEvent: collector.onEvent });
    return {
      creates: collector.names('create'),
      deletes: collector.names('delete'),
      updates: collector.names('update', 'replace'),
      changeSummary: { ...result.changeSummary } as Record<string, number>,
      replacements: planned.replacements,
    };
  }

  /**
   * One pass over the type's starting, rebooting and deleting servers, recording what the cloud reports and
   * sending the reboots of rebooting servers (see verifyServers). While any server is rebooting, the pass holds
   * the type's reboot lock and reads its rows again under it, so passes of every process over a type with
   * rebooting servers run one after the other and none reads `running` from before a reboot another pass sent.
   */
  async verify(serverType: string): Promise<VerifyReport> {
    const { records, databaseUrl } = this.#options;
    const context = await this.#context(serverType);
    const rows = await records.servers({ serverType, status: [...VERIFIED_STATUSES] });
    if (!rows.some((row) => row.status === 'rebooting')) return verifyServers(records, context.provider, rows);
    const lock = await lockReboots(databaseUrl, serverType);
    try {
      return await verifyServers(records, context.provider, await records.servers({ serverType, status: [...VERIFIED_STATUSES] }));
    } finally {
      await lock.release();
    }
  }

  /**
   * One drift check of `serverType` (see detectDrift): one list call to the cloud, then the running and rebooting
   * servers it no longer has are recorded deleted and replaced, and running ones it reports stopped are replaced.
   */
  async checkDrift(serverType: string): Promise<DriftReport> {
    return detectDrift(this.#options.records, async () => (await this.#context(serverType)).provider, serverType);
  }

  /**
   * Reconciles and verifies `serverType` until its desired version is applied, no server is still starting,
   * rebooting (its reboot not yet sent, or sent and not yet seen running again), draining (its hook runs in this
   * process) or being deleted, and its rollout has no step to take; polls every `pollMs`. Throws when `timeoutMs`
   * passes first.
   */
  async converge(serverType: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const { records } = this.#options;
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      await this.reconcile(serverType);
      const verified = await this.verify(serverType);
      const desired = await records.desiredState(serverType);
      const leaving = await records.servers({ serverType, status: ['draining', 'stopping'] });
      const plan = await records.rolloutPlan(serverType);
      const stepDue = plan !== null && plan.missing + plan.replacements.length + plan.drains.length > 0;
      if (verified.waiting.length === 0 && !desired.workRemains && leaving.length === 0 && !stepDue) return;
      if (Date.now() > deadline) {
        throw new StackUpdateError(`server type ${serverType} did not converge in time; still waiting for ${verified.waiting.join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
    }
  }

  /**
   * Stops the drain hooks this engine runs and hands their drains to another process (see DrainRunner.stop); call
   * it before closing the records.
   */
  close(): Promise<void> {
    return this.#drains.stop();
  }

  /**
   * Forgets what the engine read from the stack files (each type's stack config and the provider built from it),
   * so the next reconcile, preview or verify reads them again: call it after the files changed.
   */
  forgetStackConfig(): void {
    this.#contexts.clear();
  }

  /**
   * Reads the hourly prices of the offerings of `serverType`'s provider from its cloud and records them for every
   * process under the provider's name in the stack file (budgets and costs use them), when the provider publishes
   * prices and they were last recorded more than `maxAgeMs` ago (default 0: always). Returns how many prices were
   * recorded (0 when none were read).
   */
  async refreshPrices(serverType: string, maxAgeMs = 0): Promise<number> {
    const { records } = this.#options;
    const { provider, providerName } = await this.#context(serverType);
    if (!provider.prices) return 0;
    const readAt = await records.pricesReadAt(providerName);
    if (readAt !== null && Date.now() - readAt.getTime() < maxAgeMs) return 0;
    const prices = await provider.prices();
    await records.recordPrices(providerName, prices);
    return prices.length;
  }

  /** The provider of `serverType`, configured from its stack config (secrets decrypted in memory only). */
  async provider(serverType: string): Promise<ServerProvider> {
    return (await this.#context(serverType)).provider;
  }

  #context(serverType: string): Promise<TypeContext> {
    let context = this.#contexts.get(serverType);
    if (!context) {
      context = this.#openContext(serverType);
      context.catch(() => this.#contexts.delete(serverType));
      this.#contexts.set(serverType, context);
    }
    return context;
  }

  async #openContext(serverType: string): Promise<TypeContext> {
    const holder: { context?: TypeContext } = {};
    const installation = this.#options.records.installationId;
    const program = async () => {
      const context = holder.context!;
      const declared = declareServers(context.provider, serverType, installation, context.rows, context.adoptions);
      context.declarationFailures = declared.failures;
      return { providerIds: declared.providerIds };
    };
    const stack = await openTypeStack(this.#options, serverType, program);
    const { config, secrets } = await readStackConfig(stack);
    this.#options.onSecrets?.(secrets);
    const providerName = config['dynamic-servers:provider'];
    const provider = await createProvider(providerName ?? '', config, { projectDir: this.#options.projectDir, dataDir: this.#options.dataDir, env: this.#options.env });
    holder.context = { stack, provider, providerName: providerName ?? '', rows: [], declarationFailures: [], adoptions: new Map() };
    return holder.context;
  }

  /**
   * Moves each server waiting to be created whose offering some worker found unavailable on to the next offering
   * before `up` tries it (see EngineRecords.moveToNextOffering); true when any moved (or was errored).
   */
  async #skipUnavailableOfferings(provider: ServerProvider, rows: readonly ServerRecord[], report: ReconcileReport): Promise<boolean> {
    const waiting = rows.filter((row) => row.status === 'new' && row.providerId === null && row.offering !== null);
    const unavailable = new Set<string>();
    for (const name of new Set(waiting.map((row) => row.provider))) {
      for (const offering of await this.#options.records.unavailableOfferings(name)) unavailable.add(`${name}/${offering}`);
    }
    let changed = false;
    for (const row of waiting.filter((candidate) => unavailable.has(`${candidate.provider}/${candidate.offering!}`))) {
      const offerings = offeringNames(provider, row);
      if (!offerings) continue;
      const moved = await this.#options.records.moveToNextOffering(row.id, offerings, { status: row.status, since: row.statusUpdatedAt });
      if (!moved.server) continue;
      report.offeringMoves.push({ name: row.name, from: row.offering!, to: moved.movedTo });
      changed = true;
    }
    return changed;
  }

  async #recordResults(provider: ServerProvider, rows: readonly ServerRecord[], providerIds: Record<string, string>, failures: ResourceFailure[], report: ReconcileReport): Promise<void> {
    const { records } = this.#options;
    // The servers the update created or deleted are recorded together, in one transaction, after the failures.
    const moves: { row: ServerRecord; to: 'starting' | 'deleting'; details: { reason: string; providerId?: string } }[] = [];
    for (const row of rows) {
      const failure = failures.find((candidate) => candidate.name === row.name);
      await movedOnMeanwhile(async () => {
        const step = failure ? stepError(provider, failure) : undefined;
        const offerings = step?.typed instanceof InsufficientCapacityError && row.status === 'new' && row.providerId === null ? offeringNames(provider, row) : null;
        if (failure && step && offerings) {
          // Refused for capacity: the server moves on to its next offering (errored when none is left).
          const moved = await records.moveToNextOffering(row.id, offerings, { status: row.status, since: row.statusUpdatedAt }, step.error);
          if (moved.server) report.offeringMoves.push({ name: row.name, from: row.offering!, to: moved.movedTo });
          if (moved.server && moved.movedTo === null) report.failed.push(failure);
        } else if (failure && step && (row.status === 'new' || row.status === 'stopping')) {
          const recorded = await records.recordFailure(
            row.id,
            'errored',
            {
              reason: row.status === 'new' ? 'pulumi up could not create it' : 'pulumi up could not delete it',
              error: step.error,
            },
            { status: row.status, since: row.statusUpdatedAt },
          );
          if (recorded) report.failed.push(failure);
        } else if (row.status === 'new' && providerIds[row.name]) {
          moves.push({ row, to: 'starting', details: { reason: 'pulumi up created it', providerId: providerIds[row.name] } });
        } else if (row.status === 'stopping' && !isDeclared(row) && !providerIds[row.name]) {
          moves.push({ row, to: 'deleting', details: { reason: 'pulumi up deleted it' } });
        }
      });
    }
    const recorded = await records.recordTransitions(moves.map(({ row, to, details }) => ({ serverId: row.id, to, details })));
    moves.forEach(({ row, to }, index) => {
      if (recorded[index]) (to === 'starting' ? report.starting : report.deleting).push(row.name);
    });
  }

  /** Records errored each server whose declaration threw in the update (see declareServers). */
  async #recordDeclarationFailures(rows: readonly ServerRecord[], failures: readonly DeclarationFailure[], report: ReconcileReport): Promise<void> {
    for (const failure of failures) {
      const row = rows.find((candidate) => candidate.name === failure.name);
      if (!row) continue;
      const recorded = await this.#options.records.recordFailure(
        row.id,
        'errored',
        { reason: 'the Pulumi program could not declare it', error: { class: failure.errorClass, message: failure.message, stack: null } },
        { status: row.status, since: row.statusUpdatedAt },
      );
      if (recorded) report.undeclared.push(failure);
    }
  }
}

/**
 * Runs one recording of an update's result for a row read before the update; a row that another change moved on
 * in the meantime (hang detection, a delete) refuses the transition, and is left to the next update.
 */
async function movedOnMeanwhile(record: () => Promise<unknown>): Promise<void> {
  try {
    await record();
  } catch (error) {
    if (!(error instanceof InvalidTransitionError)) throw error;
  }
}

/** The offering names of the template on `row`, or null when the row records no offering or its template is refused. */
function offeringNames(provider: ServerProvider, row: ServerRecord): string[] | null {
  if (row.offering === null) return null;
  try {
    return provider.offerings?.(row.template).map((offering) => offering.name) ?? null;
  } catch {
    return null;
  }
}

/** Rows whose status needs a stack update even when the desired version is applied (left by a crash). */
function needsStackWork(rows: readonly ServerRecord[]): boolean {
  return rows.some((row) => (row.status === 'new' && row.providerId === null) || row.status === 'stopping');
}

/** `load`, called at most once: later calls share the first call's promise. */
function memoize<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}
