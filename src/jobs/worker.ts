// The job worker: the Agenda jobs that turn the records' desired state into servers and watch them.
import { Agenda, exponential, type Job } from 'agenda';
import type { StackEngine } from '../engine/stack-engine.ts';
import type { EngineRecords } from '../records/engine-records.ts';
import type { TypeTimeouts } from '../records/registry.ts';
import { sweepAbandonedJobs } from './abandoned-jobs.ts';
import { JobRequests, requestRun } from './job-requests.ts';
import { JobWorkerConfigError } from './errors.ts';
import { markHangingServers } from './hang-detection.ts';
import { HOUSEKEEPING_JOB, MONITOR_JOB, PRUNE_JOB, reconcileJob, replenishJob, verifyJob } from './job-names.ts';
import { runMonitorTick, type DetermineServerCount } from './monitor.ts';
import { JobRunLocks } from './job-run-locks.ts';
import { openJobBackend, openJobLockStore, releaseJobLocks } from './job-store.ts';
import { FIRST_VERIFY_DELAY_MS, nextVerifyDelay } from './verify-polling.ts';

/** Re-exported from monitor.ts, where the monitor tick that calls it lives. */
export type { DetermineServerCount } from './monitor.ts';

/** A server type as the worker needs it: its name and its hang timeouts (from the published configuration; its policies are read from there by the records). */
export interface WorkerServerType {
  type: string;
  timeouts: TypeTimeouts;
}

/** How to start a JobWorker. */
export interface JobWorkerOptions {
  /** From createJobAgenda; the worker defines its jobs on it and starts it. */
  agenda: Agenda;
  /** The job store's URL, as given to createJobAgenda. */
  jobStoreUrl: string;
  /** The records' PostgreSQL database, where the worker holds the run lock of each job it runs (JobRunLocks). */
  databaseUrl: string;
  records: EngineRecords;
  engine: StackEngine;
  /** Requests on `agenda`. */
  requests: JobRequests;
  /** The types this worker works on at start; `setServerTypes` changes them. */
  serverTypes: readonly WorkerServerType[];
  /** Called every `monitorIntervalMs` per type; its number is applied with `records.ensure`. */
  determineServerCount?: DetermineServerCount;
  /** Default 60 000 (one minute). */
  monitorIntervalMs?: number;
  /** How often hang detection, the drift check, replacements and the sweep for lost requests run; default 30 000. */
  housekeepingIntervalMs?: number;
  /** Deleted and errored records older than this many days are removed; default 30. */
  pruneAfterDays?: number;
  /** Default 3 600 000 (one hour). */
  pruneIntervalMs?: number;
  /** Receives the error of a failed job or monitor call; default: written to stderr. */
  onError?: (error: unknown, context: string) => void;
  /** Called with the name of each job of a dead worker that this worker freed (see abandoned-jobs.ts). */
  onAbandonedJobFreed?: (jobName: string) => void;
}

/** A started worker. */
export interface JobWorker {
  readonly agenda: Agenda;
  /**
   * Replaces the types this worker works on (after a publication): defines the jobs of new types and requests
   * their reconcile when work remains; types left out are no longer reconciled, verified or monitored here.
   */
  setServerTypes(types: readonly WorkerServerType[]): Promise<void>;
  /** True when this worker works on `serverType`. */
  handles(serverType: string): boolean;
  /**
   * Graceful shutdown: takes no new jobs, waits for the running ones to finish, hands back the jobs it had
   * locked but not started, and closes the job store's connections. The records and engine stay open.
   */
  stop(): Promise<void>;
}

/** The PostgreSQL-advisory-free part of Agenda tuning: how often a worker looks for due jobs (milliseconds). */
export const PROCESS_EVERY_MS = 500;
/** Seconds between two housekeeping runs by default. */
export const DEFAULT_HOUSEKEEPING_SECONDS = 30;

/** How old the recorded prices of a provider may get before housekeeping reads them from its cloud again (one hour). */
export const PRICES_MAX_AGE_MS = 3_600_000;

/**
 * How long a job's lock lasts without a touch (milliseconds). The jobs of a worker that died are freed sooner, by
 * the other workers' sweep for abandoned jobs; this is the bound when the sweep cannot tell (e.g. a worker that
 * hangs with its database session alive).
 */
export const LOCK_LIFETIME_MS = 30_000;

/**
 * An Agenda on the job store at `url` (schema already prepared), named `name` in the jobs it locks. A process
 * that only enqueues starts it with no jobs defined, so its requests are announced to the workers at once.
 */
export function createJobAgenda(url: string, name: string): Agenda {
  return new Agenda({
    backend: openJobBackend(url),
    name,
    processEvery: PROCESS_EVERY_MS,
    defaultLockLifetime: LOCK_LIFETIME_MS,
    defaultConcurrency: 1,
    defaultLockLimit: 1,
    maxConcurrency: 50,
  });
}

function positive(value: number | undefined, fallback: number, what: string): number {
  const chosen = value ?? fallback;
  if (!Number.isFinite(chosen) || chosen <= 0) throw new JobWorkerConfigError(`${what} must be a positive number, got ${String(value)}`);
  return chosen;
}

/**
 * True when a reconcile of the type has something to do: a desired version to apply, rows that need the stack
 * (left by a crash, or drained and waiting to be deleted), a drain no process runs or whose deadline passed, or a
 * rollout step (or servers the desired count misses) that could be taken now.
 */
async function reconcileDue(records: EngineRecords, serverType: string): Promise<boolean> {
  if ((await records.desiredState(serverType)).workRemains) return true;
  const rows = await records.servers({ serverType, status: ['new', 'draining', 'stopping'] });
  const now = Date.now();
  const due = (row: (typeof rows)[number]) =>
    row.status === 'stopping' ||
    (row.status === 'new' && row.providerId === null) ||
    (row.status === 'draining' && (row.drainClaimedAt === null || (row.drainDeadline?.getTime() ?? 0) <= now));
  if (rows.some(due)) return true;
  const plan = await records.rolloutPlan(serverType);
  return plan !== null && plan.missing + plan.replacements.length + plan.drains.length > 0;
}

/** Keeps a running job's Agenda lock alive while `work` runs. */
async function holdingLock<T>(job: Job, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => void job.touch().catch(() => {}), LOCK_LIFETIME_MS / 3);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Defines the jobs on `options.agenda` and starts it:
 * - `reconcile:<type>`: StackEngine.reconcile (which loops while the desired version moves); after the run,
 *   re-checks the desired state and requests itself again when work remains (a request saved while a job runs
 *   is lost by Agenda); then requests `verify:<type>` within FIRST_VERIFY_DELAY_MS. Failures retry with backoff.
 * - `verify:<type>`: StackEngine.verify, hang detection, a reconcile when one is due (a server that left the cloud
 *   may make room for a rollout's next replacement), and, while a server is starting, rebooting or deleting, its
 *   own next run after nextVerifyDelay (about a second at first, at most 20 s).
 * - `replenish:<type>`: creates the servers the type's desired count misses; while its creates are paused (its
 *   back-off), runs again when the pause ends.
 * - `housekeeping`: for every type, hang detection, replacements (and the `replenish` run at the end of a pause), a
 *   request for any reconcile or verify a lost request left, the drift check (one list call to the cloud), and the
 *   prices of its provider's offerings when the recorded ones are older than PRICES_MAX_AGE_MS (one call).
 * - `monitor` (when `determineServerCount` is given) and `prune`.
 * Every handler runs holding its job's run lock (JobRunLocks), so one job never runs twice at once; every second
 * the worker frees the jobs that dead workers left locked (sweepAbandonedJobs). Stack updates of one type never
 * overlap across processes: StackEngine holds the type's stack lock.
 */
export async function startJobWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const { agenda, records, engine, requests } = options;
  const monitorIntervalMs = positive(options.monitorIntervalMs, 60_000, 'monitorIntervalMs');
  const housekeepingIntervalMs = positive(options.housekeepingIntervalMs, DEFAULT_HOUSEKEEPING_SECONDS * 1000, 'housekeepingIntervalMs');
  const pruneIntervalMs = positive(options.pruneIntervalMs, 3_600_000, 'pruneIntervalMs');
  const pruneAfterDays = positive(options.pruneAfterDays, 30, 'pruneAfterDays');
  if (options.determineServerCount !== undefined && typeof options.determineServerCount !== 'function') {
    throw new JobWorkerConfigError('determineServerCount must be a function');
  }
  const report = options.onError ?? ((error: unknown, context: string) => process.stderr.write(`dynamic-servers worker: ${context}: ${String((error as Error)?.stack ?? error)}\n`));
  const retry = exponential({ delay: 1000, factor: 2, maxDelay: 30_000, maxRetries: 10 });
  const succeeded = new Set<string>();
  const runLocks = await JobRunLocks.open(options.databaseUrl);
  /** Defines job `name` on the agenda: its handler runs under the job's run lock, its Agenda lock kept alive. */
  const define = (name: string, handler: (job: Job) => Promise<void>, defineOptions?: Parameters<Agenda['define']>[2]) =>
    agenda.define(name, (job: Job) => holdingLock(job, () => runLocks.hold(name, () => handler(job))), defineOptions);

  const types = new Map<string, WorkerServerType>();
  const defined = new Set<string>();
  const defineTypeJobs = (serverType: string) => {
    if (defined.has(serverType)) return;
    defined.add(serverType);
    const reconcileName = reconcileJob(serverType);
    define(
      reconcileName,
      async () => {
        if (!types.has(serverType)) return;
        const result = await engine.reconcile(serverType);
        const pending = await records.servers({ serverType, status: ['starting', 'rebooting', 'deleting'] });
        if (result.starting.length > 0 || result.deleting.length > 0 || pending.length > 0) await requests.requestVerify(serverType, FIRST_VERIFY_DELAY_MS);
        succeeded.add(reconcileName);
      },
      { concurrency: 1, lockLimit: 1, backoff: retry },
    );
    agenda.on(`complete:${reconcileName}`, (_job: unknown, remote?: boolean) => {
      if (remote || !succeeded.delete(reconcileName)) return;
      void (async () => {
        if (await reconcileDue(records, serverType)) await requests.requestReconcile(serverType);
      })().catch((error: unknown) => report(error, `re-check after ${reconcileName}`));
    });

    define(
      replenishJob(serverType),
      async (job: Job) => {
        if (!types.has(serverType)) return;
        const { createsPausedUntil } = await records.replenish(serverType);
        if (createsPausedUntil) job.attrs.nextRunAt = createsPausedUntil;
      },
      { concurrency: 1, lockLimit: 1, backoff: retry },
    );

    define(
      verifyJob(serverType),
      async (job: Job) => {
        const type = types.get(serverType);
        if (!type) return;
        await engine.verify(serverType);
        await markHangingServers(records, type);
        // A server gone from the cloud may leave room for the rollout's next replacement.
        if (await reconcileDue(records, serverType)) await requests.requestReconcile(serverType);
        const pending = await records.servers({ serverType, status: ['starting', 'rebooting', 'deleting'] });
        if (pending.length === 0) return;
        const youngest = Math.max(...pending.map((row) => row.statusUpdatedAt.getTime()));
        job.attrs.nextRunAt = new Date(Date.now() + nextVerifyDelay(Date.now() - youngest));
      },
      { concurrency: 1, lockLimit: 1, backoff: retry },
    );
  };
  /** Replaces what the type misses; while its creates are paused, the `replenish` job runs again when they resume. */
  const replenish = async (serverType: string) => {
    const { createsPausedUntil } = await records.replenish(serverType);
    if (createsPausedUntil) await requestRun(agenda, replenishJob(serverType), createsPausedUntil.getTime() - Date.now());
  };
  const setServerTypes = async (next: readonly WorkerServerType[]) => {
    const added = next.filter((type) => !types.has(type.type));
    types.clear();
    for (const type of next) {
      defineTypeJobs(type.type);
      types.set(type.type, type);
    }
    for (const type of added) {
      if (await reconcileDue(records, type.type)) await requests.requestReconcile(type.type);
    }
    // A new published version of a type ends the back-off of its creates: replace what it misses now.
    for (const type of next) await requestRun(agenda, replenishJob(type.type));
  };

  define(HOUSEKEEPING_JOB, async () => {
    for (const type of types.values()) {
      try {
        await markHangingServers(records, type);
        await replenish(type.type);
        if (await reconcileDue(records, type.type)) await requestRun(agenda, reconcileJob(type.type));
        const pending = await records.servers({ serverType: type.type, status: ['starting', 'rebooting', 'deleting'] });
        if (pending.length > 0) await requestRun(agenda, verifyJob(type.type));
      } catch (error) {
        report(error, `housekeeping of ${type.type}`);
      }
      try {
        await engine.checkDrift(type.type);
      } catch (error) {
        report(error, `drift check of ${type.type}`);
      }
      try {
        await engine.refreshPrices(type.type, PRICES_MAX_AGE_MS);
      } catch (error) {
        report(error, `prices of ${type.type}`);
      }
    }
  });

  if (options.determineServerCount) {
    const determine = options.determineServerCount;
    define(MONITOR_JOB, async () => {
      await runMonitorTick(records, [...types.keys()], determine, report);
    });
  }

  define(PRUNE_JOB, async () => {
    await records.pruneFinished(pruneAfterDays);
  });

  agenda.on('fail', (error: unknown, job: { attrs?: { name?: string } }, remote?: boolean) => {
    if (!remote) report(error, `job ${job?.attrs?.name ?? '?'} failed`);
  });
  await agenda.start();
  await agenda.every(housekeepingIntervalMs, HOUSEKEEPING_JOB);
  await agenda.every(pruneIntervalMs, PRUNE_JOB);
  if (options.determineServerCount) await agenda.every(monitorIntervalMs, MONITOR_JOB);
  await setServerTypes(options.serverTypes);

  const lockStore = openJobLockStore(options.jobStoreUrl);
  const sweep = sweepAbandonedJobs({
    store: lockStore,
    locks: runLocks,
    onFreed: options.onAbandonedJobFreed ?? (() => {}),
    onError: (error) => report(error, 'sweep for abandoned jobs'),
  });

  let stopping: Promise<void> | null = null;
  return {
    agenda,
    setServerTypes,
    handles: (serverType) => types.has(serverType),
    stop() {
      stopping ??= (async () => {
        await sweep.stop();
        await agenda.drain();
        await releaseJobLocks(options.jobStoreUrl, agenda.attrs.name ?? '');
        await lockStore.close();
        await runLocks.close();
      })();
      return stopping;
    },
  };
}
