import type { Stack } from '@pulumi/pulumi/automation/index.js';
import type { ServerProvider } from '../../providers/contract.ts';
import type { EngineRecords } from '../records/engine-records.ts';
import type { ServerRecord } from '../records/records.ts';
import { SERVER_STATUSES } from '../records/statuses.ts';
import { declareServers, isDeclared } from './declared-servers.ts';
import { StackEngineError, StackUpdateError } from './errors.ts';
import { createProvider } from './provider-registry.ts';
import { PlannedStepCollector, StepFailureCollector, type ResourceFailure } from './pulumi-adapter.ts';
import { stepError } from './step-errors.ts';
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
  /** Told when a `pulumi up` of a type starts and ends (for logs and latency measurements); must not throw. */
  onUpdate?: (update: StackUpdate) => void;
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
  recovery: RecoveryReport;
  /** Servers of this installation and type that neither a record nor the stack held (left by a crash), deleted through the provider's API. */
  leaksDeleted: LeakedServer[];
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
}

/** Statuses of rows the engine may still have to act on (everything but deleted). */
const LIVE_STATUSES = SERVER_STATUSES.filter((status) => status !== 'deleted');

interface TypeContext {
  stack: Stack;
  provider: ServerProvider;
  /** The rows the next program run declares; set before every up and preview. */
  rows: readonly ServerRecord[];
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

  constructor(options: StackEngineOptions) {
    this.#options = options;
  }

  /**
   * Applies the desired state of `serverType`: under the type's stack lock, while the desired version is ahead of
   * the applied one (or rows wait for the stack), adopts servers a dead update created for rows the stack does not
   * hold, runs `up` (continuing past a failed server; a Pulumi lock left by a dead update is cancelled and `up` runs
   * again, see upCancellingStaleLocks), records each server's provider id or typed failure, deletes servers of this
   * installation that neither a record nor the stack holds, and marks the version applied.
   */
  async reconcile(serverType: string): Promise<ReconcileReport> {
    const { records } = this.#options;
    const installation = records.installationId;
    const report: ReconcileReport = {
      serverType,
      updates: 0,
      appliedVersion: 0,
      starting: [],
      deleting: [],
      failed: [],
      recovery: emptyRecoveryReport(),
      leaksDeleted: [],
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
        context.rows = rows;
        context.adoptions = adoptions;
        const collector = new StepFailureCollector();
        const update = { serverType, desiredVersion: desired.version, declared: rows.filter(isDeclared).length };
        this.#options.onUpdate?.({ ...update, phase: 'start' });
        let updateError: unknown;
        try {
          await upCancellingStaleLocks(context.stack, () => context.stack.up({ onEvent: collector.onEvent, continueOnError: true }), report.recovery);
        } catch (error) {
          updateError = error;
        }
        this.#options.onUpdate?.({ ...update, phase: 'end' });
        report.updates += 1;
        const failures = collector.failures().filter((failure) => rows.some((row) => row.name === failure.name));
        if (updateError !== undefined && failures.length === 0) {
          if (updateError instanceof StackEngineError) throw updateError;
          throw new StackUpdateError(`pulumi up of stack ${serverType} failed: ${String((updateError as Error).message ?? updateError)}`, { cause: updateError });
        }
        const outputs = await context.stack.outputs();
        const providerIds = (outputs.providerIds?.value ?? {}) as Record<string, string>;
        await this.#recordResults(context.provider, rows, providerIds, failures, report);
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
      // Also when the reconcile failed afterwards: what was recovered stays recovered.
      if (recoveredAnything(report.recovery) || report.leaksDeleted.length > 0) this.#options.onRecovery?.(serverType, report.recovery, report.leaksDeleted);
      await lock.release();
    }
  }

  /**
   * What the next reconcile of `serverType` would change, from a `pulumi preview` of the same program on the
   * same rows. Changes nothing: no row, no stack state, no cloud server.
   */
  async preview(serverType: string): Promise<PlannedChanges> {
    const context = await this.#context(serverType);
    context.rows = await this.#options.records.servers({ serverType, status: LIVE_STATUSES });
    context.adoptions = new Map();
    const collector = new PlannedStepCollector();
    const result = await context.stack.preview({ onEvent: collector.onEvent });
    return {
      creates: collector.names('create'),
      deletes: collector.names('delete'),
      updates: collector.names('update', 'replace'),
      changeSummary: { ...result.changeSummary } as Record<string, number>,
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
   * Reconciles and verifies `serverType` until its desired version is applied and no server is still starting,
   * rebooting (its reboot not yet sent, or sent and not yet seen running again) or being deleted; polls every
   * `pollMs`. Throws when `timeoutMs` passes first.
   */
  async converge(serverType: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (;;) {
      await this.reconcile(serverType);
      const verified = await this.verify(serverType);
      const desired = await this.#options.records.desiredState(serverType);
      if (verified.waiting.length === 0 && !desired.workRemains) return;
      if (Date.now() > deadline) {
        throw new StackUpdateError(`server type ${serverType} did not converge in time; still waiting for ${verified.waiting.join(', ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
    }
  }

  /**
   * Forgets what the engine read from the stack files (each type's stack config and the provider built from it),
   * so the next reconcile, preview or verify reads them again: call it after the files changed.
   */
  forgetStackConfig(): void {
    this.#contexts.clear();
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
      return { providerIds: declareServers(context.provider, serverType, installation, context.rows, context.adoptions) };
    };
    const stack = await openTypeStack(this.#options, serverType, program);
    const config = await readStackConfig(stack);
    const providerName = config['dynamic-servers:provider'];
    const provider = createProvider(providerName ?? '', config, this.#options.dataDir, this.#options.env);
    holder.context = { stack, provider, rows: [], adoptions: new Map() };
    return holder.context;
  }

  async #recordResults(provider: ServerProvider, rows: readonly ServerRecord[], providerIds: Record<string, string>, failures: ResourceFailure[], report: ReconcileReport): Promise<void> {
    const { records } = this.#options;
    for (const row of rows) {
      const failure = failures.find((candidate) => candidate.name === row.name);
      if (failure && (row.status === 'new' || row.status === 'stopping')) {
        await records.recordTransition(row.id, 'errored', {
          reason: row.status === 'new' ? 'pulumi up could not create it' : 'pulumi up could not delete it',
          error: stepError(provider, failure),
        });
        report.failed.push(failure);
      } else if (row.status === 'new' && providerIds[row.name]) {
        await records.recordTransition(row.id, 'starting', { reason: 'pulumi up created it', providerId: providerIds[row.name] });
        report.starting.push(row.name);
      } else if (row.status === 'stopping' && !isDeclared(row) && !providerIds[row.name]) {
        await records.recordTransition(row.id, 'deleting', { reason: 'pulumi up deleted it' });
        report.deleting.push(row.name);
      }
    }
  }
}

/** `load`, called at most once: later calls share the first call's promise. */
function memoize<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}

/** Rows whose status needs a stack update even when the desired version is applied (left by a crash). */
function needsStackWork(rows: readonly ServerRecord[]): boolean {
  return rows.some((row) => (row.status === 'new' && row.providerId === null) || row.status === 'stopping');
}
