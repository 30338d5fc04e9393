// Runs the drain hooks of the servers a process finds draining: one process per server (a claim on its row), the
// hooks of several servers at once, each ended by its hook, by its deadline (a timer in the process that runs the
// hook; a reconcile ends the drains of a process that died), or handed back when the process stops.
import type { DrainOutcome } from '../records/drain.ts';
import type { EngineRecords } from '../records/engine-records.ts';
import { DrainEndedError } from '../records/errors.ts';
import type { ServerError, ServerRecord } from '../records/records.ts';
import { loadDrainHook, type DrainContext } from './drain-hook.ts';

/** How a DrainRunner reaches the records, the project's hook modules, and who hears its errors. */
export interface DrainRunnerOptions {
  records: EngineRecords;
  /** Where the types' drain hook paths are relative to (the project root). */
  projectDir: string;
  /** Told of an error no caller awaits (a database error while ending a drain); must not throw. */
  onError: (error: unknown, context: string) => void;
}

/** What one DrainRunner step did. */
export interface DrainStep {
  /** Servers whose hook this step started. */
  started: string[];
  /** Servers whose drain this step ended (their deadline had passed, or the type has no hook any more). */
  ended: string[];
}

/** A drain whose hook runs in this process. */
interface RunningDrain {
  server: ServerRecord;
  /** When its drain began: the drain is still this one while the row's statusUpdatedAt says so. */
  since: Date;
  deadline: Date;
  controller: AbortController;
  timer: NodeJS.Timeout | null;
  ended: boolean;
}

/** Milliseconds after a deadline that its timer fires, so the database's clock has passed it too. */
const DEADLINE_SLACK_MS = 10;

/** `error` as the records store a hook's failure. */
function asServerError(error: unknown): ServerError {
  if (error instanceof Error) return { class: error.name || error.constructor.name, message: error.message, stack: error.stack ?? null };
  return { class: 'Error', message: String(error), stack: null };
}

/** Runs the drain hooks of one process (see the module comment). */
export class DrainRunner {
  readonly #options: DrainRunnerOptions;
  readonly #running = new Map<number, RunningDrain>();
  #stopped = false;

  constructor(options: DrainRunnerOptions) {
    this.#options = options;
  }

  /**
   * One pass over the draining servers of `serverType`: ends those whose deadline passed (the type's
   * `undrainedServers` policy), and claims and starts the hook of each that no process runs yet (without waiting
   * for it; the hooks of several servers run at once). A type that has no hook any more drains them at once.
   */
  async step(serverType: string): Promise<DrainStep> {
    const report: DrainStep = { started: [], ended: [] };
    if (this.#stopped) return report;
    const { records } = this.#options;
    const rows = await records.servers({ serverType, status: 'draining' });
    if (rows.length === 0) return report;
    const hook = (await records.serverTypes()).find((type) => type.name === serverType)?.settings.drain.hook ?? null;
    for (const row of rows) {
      if (this.#running.has(row.id)) continue;
      if (row.drainDeadline !== null && row.drainDeadline.getTime() <= Date.now()) {
        if (await records.endDrain(row.id, { kind: 'deadline' }, row.statusUpdatedAt)) report.ended.push(row.name);
        continue;
      }
      // Claimed: another process runs its hook (or ran it and died: its deadline ends it).
      if (row.drainClaimedAt !== null || !(await records.claimDrain(row.id))) continue;
      if (hook === null) {
        if (await records.endDrain(row.id, { kind: 'drained', how: 'the type has no drain hook any more' }, row.statusUpdatedAt)) report.ended.push(row.name);
        continue;
      }
      this.#start(row, hook);
      report.started.push(row.name);
    }
    return report;
  }

  /** Servers whose hooks run in this process now. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Stops running hooks: aborts each (its signal), gives its drain back (another process calls its hook again) and
   * starts no more. Does not wait for the hooks themselves.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    const drains = [...this.#running.values()];
    this.#running.clear();
    for (const drain of drains) {
      drain.ended = true;
      if (drain.timer) clearTimeout(drain.timer);
      drain.controller.abort(new DrainEndedError(`the process running the drain of ${drain.server.name} stopped; another process drains it`));
    }
    if (drains.length > 0) await this.#options.records.releaseDrainClaims(drains.map((drain) => drain.server.id)).catch((error: unknown) => this.#options.onError(error, 'handing back drains'));
  }

  /** Starts the hook of `server` (claimed by this process) in the background, with its deadline timer. */
  #start(server: ServerRecord, hookPath: string): void {
    const drain: RunningDrain = { server, since: server.statusUpdatedAt, deadline: server.drainDeadline!, controller: new AbortController(), timer: null, ended: false };
    this.#running.set(server.id, drain);
    this.#arm(drain);
    const run = async (): Promise<DrainOutcome> => {
      try {
        const hook = await loadDrainHook(this.#options.projectDir, hookPath);
        const context: DrainContext = {
          reason: await this.#reasonOf(server),
          get deadline() {
            return drain.deadline;
          },
          signal: drain.controller.signal,
          extend: (seconds) => this.#extend(drain, seconds),
        };
        await hook(structuredClone(server), context);
        return { kind: 'drained', how: 'the drain hook returned' };
      } catch (error) {
        return { kind: 'failed', error: asServerError(error) };
      }
    };
    void run()
      .then((outcome) => this.#end(drain, outcome))
      .catch((error: unknown) => this.#options.onError(error, `draining ${server.name}`));
  }

  /** The reason `server` went draining, from its history. */
  async #reasonOf(server: ServerRecord): Promise<string> {
    const history = await this.#options.records.statusHistory(server.id);
    return history.findLast((change) => change.to === 'draining')?.reason ?? '';
  }

  /** Ends `drain` with `outcome` (once), unless it ended already or the process stopped. */
  async #end(drain: RunningDrain, outcome: DrainOutcome): Promise<void> {
    if (drain.ended) return;
    this.#forget(drain);
    await this.#options.records.endDrain(drain.server.id, outcome, drain.since);
  }

  /** Forgets `drain` in this process: no more timer, out of the running set. */
  #forget(drain: RunningDrain): void {
    drain.ended = true;
    if (drain.timer) clearTimeout(drain.timer);
    this.#running.delete(drain.server.id);
  }

  /** (Re)sets the timer that ends `drain` at its deadline. */
  #arm(drain: RunningDrain): void {
    if (drain.timer) clearTimeout(drain.timer);
    const delay = Math.max(0, drain.deadline.getTime() - Date.now()) + DEADLINE_SLACK_MS;
    drain.timer = setTimeout(() => void this.#atDeadline(drain).catch((error: unknown) => this.#options.onError(error, `ending the drain of ${drain.server.name} at its deadline`)), delay);
    drain.timer.unref();
  }

  /** The deadline of `drain` passed: the type's policy applies, and its hook is aborted. */
  async #atDeadline(drain: RunningDrain): Promise<void> {
    if (drain.ended) return;
    const written = await this.#options.records.endDrain(drain.server.id, { kind: 'deadline' }, drain.since);
    if (!written) {
      const current = await this.#options.records.server(drain.server.id);
      if (current.status === 'draining' && current.statusUpdatedAt.getTime() === drain.since.getTime() && current.drainDeadline !== null) {
        drain.deadline = current.drainDeadline;
        this.#arm(drain);
        return;
      }
    }
    this.#forget(drain);
    drain.controller.abort(new DrainEndedError(`the drain of ${drain.server.name} passed its deadline`));
  }

  /** The hook of `drain` asks for `seconds` more (see DrainContext.extend). */
  async #extend(drain: RunningDrain, seconds: number): Promise<Date> {
    if (drain.ended) throw new DrainEndedError(`the drain of ${drain.server.name} has ended`);
    drain.deadline = await this.#options.records.extendDrain(drain.server.id, seconds);
    if (!drain.ended) this.#arm(drain);
    return drain.deadline;
  }
}
