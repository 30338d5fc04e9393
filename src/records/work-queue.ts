/** One piece of work a change leaves for the job layer. `desiredVersion` is the desired-state version it belongs to. */
export type ServerWork =
  | { kind: 'create'; serverId: number; serverType: string; desiredVersion: number }
  | { kind: 'stop'; serverId: number; serverType: string; desiredVersion: number }
  | { kind: 'reboot'; serverId: number; serverType: string; desiredVersion: number };

/**
 * Where changes hand their work to the job layer. Called once per committed change, after the commit, with all
 * of that change's work; it is never called for a change that was rolled back or changed nothing.
 */
export interface WorkQueue {
  enqueue(work: readonly ServerWork[]): Promise<void>;
}

/** A WorkQueue that only remembers what it was given, in order (the default until a job backend is configured). */
export class RecordingWorkQueue implements WorkQueue {
  /** Every piece of work enqueued so far, oldest first. */
  readonly enqueued: ServerWork[] = [];

  async enqueue(work: readonly ServerWork[]): Promise<void> {
    this.enqueued.push(...work);
  }
}
