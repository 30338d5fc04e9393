// Frees the jobs of dead workers at once. Agenda only frees a job whose worker died when its lock expires
// (LOCK_LIFETIME_MS); a job that is locked in the store while no live worker holds its run lock (JobRunLocks) has
// been abandoned, so every worker sweeps for such jobs and frees them for the next worker.
import type { JobLockStore, LockedJob } from './job-store.ts';
import type { JobRunLocks } from './job-run-locks.ts';

/** How often a worker sweeps (milliseconds); an abandoned job is freed within two sweeps. */
export const ABANDONED_SWEEP_INTERVAL_MS = 1000;

/** What sweepAbandonedJobs works with. */
export interface AbandonedJobSweepOptions {
  store: JobLockStore;
  locks: JobRunLocks;
  /** Called with the name of each job this sweep freed. */
  onFreed: (jobName: string) => void;
  onError: (error: unknown) => void;
  intervalMs?: number;
}

/**
 * One sweep: the jobs locked in the store whose run lock nobody holds and that `suspects` (the previous sweep's
 * result) already had with the same lock time are freed. Seeing a job twice, a sweep apart, leaves alone a live
 * worker's job between Agenda's lock and its handler's start, or between its handler's end and Agenda's save.
 * Returns the suspects for the next sweep.
 */
export async function sweepOnce(store: JobLockStore, locks: JobRunLocks, suspects: ReadonlyMap<string, string>, onFreed: (jobName: string) => void): Promise<Map<string, string>> {
  const locked = await store.lockedJobs();
  const running = await locks.running(locked.map((job) => job.name));
  const next = new Map<string, string>();
  const abandoned: LockedJob[] = [];
  for (const job of locked) {
    if (running.has(job.name)) continue;
    if (suspects.get(job.name) === job.lockedAt) abandoned.push(job);
    else next.set(job.name, job.lockedAt);
  }
  for (const job of abandoned) {
    if (await store.freeJobLock(job)) onFreed(job.name);
  }
  return next;
}

/** Sweeps every `intervalMs` (skipping a beat while a sweep is still running) until `stop()`; see sweepOnce. */
export function sweepAbandonedJobs(options: AbandonedJobSweepOptions): { stop(): Promise<void> } {
  let suspects = new Map<string, string>();
  let sweeping: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = sweepOnce(options.store, options.locks, suspects, options.onFreed)
      .then((next) => {
        suspects = next;
      }, options.onError)
      .finally(() => {
        sweeping = null;
      });
  }, options.intervalMs ?? ABANDONED_SWEEP_INTERVAL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await sweeping;
    },
  };
}
