// An engine world (embedded PostgreSQL, local cloud, project directory) with the job layer on top: the job
// store prepared on the same database, records whose wake-ups schedule the worker's jobs, and one started worker.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { workerServerType } from '../../../src/cli/with-runtime.ts';
import { StackEngine } from '../../../src/engine/stack-engine.ts';
import { JobRequests } from '../../../src/jobs/job-requests.ts';
import { prepareJobStore } from '../../../src/jobs/job-store.ts';
import { createJobAgenda, startJobWorker, type JobWorker, type JobWorkerOptions, type WorkerServerType } from '../../../src/jobs/worker.ts';
import { EngineRecords } from '../../../src/records/engine-records.ts';
import type { TypeTimeouts } from '../../../src/records/registry.ts';
import type { ServerStatus } from '../../../src/records/statuses.ts';
import { publishProject } from '../../../src/runtime.ts';
import { startEngineWorld, type EngineWorld } from '../../support/engine-world.ts';

/** An engine world whose changes wake a running job worker. */
export interface JobWorld {
  world: EngineWorld;
  /** Records whose wake-ups reach the worker of this process. */
  records: EngineRecords;
  /** The in-process worker; undefined with `inProcessWorker: false` (workers then run as processes). */
  worker: JobWorker | undefined;
  serverTypes: WorkerServerType[];
  close(): Promise<void>;
}

/** Starts an engine world and a job worker on it; `timeouts` sets every type's hang timeouts in its stack file. */
export async function startJobWorld(
  options: Parameters<typeof startEngineWorld>[0] & {
    timeouts?: TypeTimeouts;
    worker?: Partial<JobWorkerOptions>;
    /** false: no worker in this process (workers run as `dynamic-servers worker` processes). Default true. */
    inProcessWorker?: boolean;
    /** More server types, each a copy of the world's stack file under another name. */
    extraTypes?: string[];
    /** The job store (default: the world's PostgreSQL database). */
    jobStoreUrl?: string;
  } = {},
): Promise<JobWorld> {
  const timeouts: Record<string, number> = options.timeouts
    ? {
        'dynamic-servers:bootTimeoutSeconds': options.timeouts.bootSeconds,
        'dynamic-servers:stopTimeoutSeconds': options.timeouts.stopSeconds,
        'dynamic-servers:deleteTimeoutSeconds': options.timeouts.deleteSeconds,
      }
    : {};
  const world = await startEngineWorld({ ...options, stackConfig: { ...options.stackConfig, ...timeouts } });
  const url = world.database.url;
  const jobStoreUrl = options.jobStoreUrl ?? url;
  await prepareJobStore(jobStoreUrl);
  const stacks = join(world.projectDir, 'stacks');
  for (const type of options.extraTypes ?? []) await copyFile(join(stacks, `Pulumi.${options.serverType ?? 'demo'}.yaml`), join(stacks, `Pulumi.${type}.yaml`));
  if (options.extraTypes?.length) await publishProject(world.records, world.projectDir);

  // An Agenda connects its backend as soon as it is made: only a world with an in-process worker makes one (the
  // worker's stop closes it), so no pool is left connected when the database stops.
  const inProcess = options.inProcessWorker !== false;
  const agenda = inProcess ? createJobAgenda(jobStoreUrl, `test-worker-${process.pid}`) : undefined;
  const requests = agenda ? new JobRequests(agenda) : undefined;
  let worker: JobWorker | undefined;
  const records = await EngineRecords.openForEngine({
    databaseUrl: url,
    onWork: (serverType) => {
      if (worker?.handles(serverType)) requests?.requestReconcile(serverType).catch(() => {});
    },
  });
  const engine = new StackEngine({ ...world.settings, records, databaseUrl: url, dataDir: world.dataDir, env: {} });
  const serverTypes = (await records.serverTypes()).map(workerServerType);
  if (agenda && requests) {
    worker = await startJobWorker({ agenda, jobStoreUrl, databaseUrl: url, records, engine, requests, serverTypes, housekeepingIntervalMs: 1000, onError: () => {}, ...options.worker });
  }
  return {
    world,
    records,
    worker,
    serverTypes,
    async close() {
      await worker?.stop().catch(() => {});
      await records.close().catch(() => {});
      await world.close();
    },
  };
}

/** Waits until `records` shows `count` servers of `serverType` in `status`; throws after `timeoutMs`. */
export async function waitForStatus(records: EngineRecords, serverType: string, status: ServerStatus, count: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await records.servers({ serverType, status });
    if (rows.length === count) return;
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${count} ${status} servers of ${serverType}; have ${JSON.stringify(await records.countPerStatus(serverType))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
