import type { Agenda } from 'agenda';
import { reconcileJob, verifyJob } from './job-names.ts';

/**
 * Puts one run of job `name` in the store `delayMs` from now, as Agenda's `single` job of that name: both
 * backends upsert it atomically on the name, so there is one row per name, locked by one worker at a time. The
 * time is always in the future (at least 1 ms), because both backends keep the stored time of a `single` job when
 * the new one is already due (MongoDB even when the stored one is empty, which would lose the request).
 */
export async function requestRun(agenda: Agenda, name: string, delayMs = 0): Promise<void> {
  const job = agenda.create(name, {});
  job.attrs.type = 'single';
  job.schedule(new Date(Date.now() + Math.max(1, delayMs)));
  await job.save();
}

/**
 * How a worker asks for the jobs of a server type. Requests coalesce into one job per type; the desired-state
 * version, not the job, says what is left to do, so a request that Agenda loses while the job runs is picked up by
 * the job's re-check.
 */
export class JobRequests {
  readonly #agenda: Agenda;

  constructor(agenda: Agenda) {
    this.#agenda = agenda;
  }

  /** Requests a reconcile of `serverType` as soon as a worker is free. */
  requestReconcile(serverType: string): Promise<void> {
    return requestRun(this.#agenda, reconcileJob(serverType));
  }

  /** Requests a verification pass over `serverType` in `delayMs` (replacing the pending time). */
  requestVerify(serverType: string, delayMs = 0): Promise<void> {
    return requestRun(this.#agenda, verifyJob(serverType), delayMs);
  }
}
