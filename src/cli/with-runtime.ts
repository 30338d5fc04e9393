import { DynamicServers } from '../records/dynamic-servers.ts';
import { EngineRecords } from '../records/engine-records.ts';
import type { PublishedServerType } from '../records/registry.ts';
import { databaseUrl, openRuntime, type Runtime } from '../runtime.ts';
import type { WorkerServerType } from '../jobs/worker.ts';
import { logOfferingRefusals, logServerEvents, stackUpdateLogger } from '../logging/activity.ts';
import { cliLogger, cliScrubber, isVerbose } from './cli-log.ts';

/** Runs `work` on an opened resource and closes it, whether `work` succeeds or throws. */
async function using<R extends { close(): Promise<void> }, T>(resource: R, work: (resource: R) => Promise<T>): Promise<T> {
  try {
    return await work(resource);
  } finally {
    await resource.close();
  }
}

/** With --verbose, logs the server transitions and capacity refusals `records` records in this process (see logServerEvents). */
function logIfVerbose<R extends DynamicServers>(records: R): R {
  if (isVerbose()) {
    logServerEvents(records, cliLogger());
    logOfferingRefusals(records, cliLogger());
  }
  return records;
}

/** Runs `work` on the records of DATABASE_URL, as a script sees them (no Pulumi CLI, no stack files needed). */
export async function withRecords<T>(work: (records: DynamicServers) => Promise<T>): Promise<T> {
  return using(logIfVerbose(await DynamicServers.open({ databaseUrl: databaseUrl() })), work);
}

/** Runs `work` on the engine's view of the records of DATABASE_URL (no Pulumi CLI needed). */
export async function withEngineRecords<T>(work: (records: EngineRecords) => Promise<T>): Promise<T> {
  return using(logIfVerbose(await EngineRecords.openForEngine({ databaseUrl: databaseUrl() })), work);
}

/**
 * Opens the deployment's Runtime from the environment (see runtimeSettings), runs `work` on it and closes it,
 * whether `work` succeeds or throws; resolves with what `work` returned. Errors reach the caller unchanged. With
 * --verbose, its `pulumi up` runs and server transitions are logged.
 */
export async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const scrubber = cliScrubber();
  const runtime = await openRuntime(undefined, {
    onSecrets: (values) => scrubber.add(...values),
    scrubText: (text) => scrubber.scrub(text),
    ...(isVerbose() ? { onUpdate: stackUpdateLogger(cliLogger()) } : {}),
  });
  logIfVerbose(runtime.records);
  return using(runtime, work);
}

/** A published server type as the worker's jobs take it: its name and its hang timeouts. */
export function workerServerType(type: PublishedServerType): WorkerServerType {
  return { type: type.name, timeouts: type.settings.timeouts };
}
