// The drain hook: the deployment's own code, named by a type's stack file (`dynamic-servers:drainHook: drain.ts`,
// relative to the project root), that lets a server the engine is about to delete finish its work. Every process
// that applies the type's desired state (each worker, `reconcile --wait`) loads the same module from its checkout.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServerRecord } from '../records/records.ts';
import { DrainHookError } from './errors.ts';

/** What a drain hook receives besides the server's record. */
export interface DrainContext {
  /** Why the server is being deleted: its history reason (e.g. `decrease(worker, 2)`, `rollout to template …: replaces worker-3`). */
  readonly reason: string;
  /** When the drain ends at the latest: the deadline in force (`extend` pushes it back). */
  readonly deadline: Date;
  /**
   * Aborted when the drain ends without the hook: its deadline passed (the type's `undrainedServers` policy
   * applies), or the process stops (another process calls the hook again).
   */
  readonly signal: AbortSignal;
  /**
   * Asks for more time: the deadline becomes `seconds` from now, but never later than the type's `maxDrainSeconds`
   * after the drain began (and never earlier than it was). Resolves to the deadline in force; rejects with
   * DrainEndedError once the drain is over.
   */
  extend(seconds: number): Promise<Date>;
}

/**
 * A drain hook, exported by its module as `drainServer`: called once for each server of the type that the engine
 * is about to delete (scale-in, a rollout, the hang and error policy), with the server's record (status
 * `draining`). Resolve when the server has finished its work: it is then deleted. A hook that throws is recorded
 * on the server, and the type's `undrainedServers` policy applies (deleted anyway, or kept for a person). Hooks of
 * several servers run at once. A process that stops while a hook runs aborts it and hands the drain to another
 * process, which calls the hook again: make it safe to call twice.
 */
export type DrainServer = (server: ServerRecord, drain: DrainContext) => void | Promise<void>;

/**
 * Imports the drain hook module at `path` (relative to `projectDir`) and returns its `drainServer`. Throws
 * DrainHookError when it cannot be loaded or exports no such function.
 */
export async function loadDrainHook(projectDir: string, path: string): Promise<DrainServer> {
  let loaded: { drainServer?: unknown };
  try {
    loaded = (await import(pathToFileURL(resolve(projectDir, path)).href)) as { drainServer?: unknown };
  } catch (error) {
    throw new DrainHookError(`cannot load the drain hook module ${path}: ${String((error as Error)?.message ?? error).split('\n', 1)[0]}`, { cause: error });
  }
  if (typeof loaded.drainServer !== 'function') throw new DrainHookError(`the drain hook module ${path} does not export a drainServer function`);
  return loaded.drainServer as DrainServer;
}
