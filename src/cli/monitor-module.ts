import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MonitorModuleError } from '../jobs/errors.ts';
import type { DetermineServerCount } from '../jobs/monitor.ts';

/**
 * Imports the module at `path` (relative to the working directory) and returns its exported `determineServerCount`.
 * Throws MonitorModuleError (exit 2) when the module cannot be found or loaded, or lacks that function.
 */
export async function loadMonitor(path: string): Promise<DetermineServerCount> {
  let loaded: { determineServerCount?: unknown };
  try {
    loaded = (await import(pathToFileURL(resolve(path)).href)) as { determineServerCount?: unknown };
  } catch (error) {
    throw new MonitorModuleError(`cannot load the monitor module ${path}: ${String((error as Error)?.message ?? error).split('\n', 1)[0]}`, { cause: error });
  }
  if (typeof loaded.determineServerCount !== 'function') throw new MonitorModuleError(`${path} does not export a determineServerCount function`);
  return loaded.determineServerCount as DetermineServerCount;
}
