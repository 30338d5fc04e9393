// An engine world (embedded PostgreSQL, local cloud, project directory) with the job layer on top: the job
// store prepared on the same database, records whose WorkQueue is Agenda, and one started job worker.
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StackEngine } from '../../../src/engine/stack-engine.ts';
import { AgendaWorkQueue } from '../../../src/jobs/agenda-work-queue.ts';
import { prepareJobStore } from '../../../src/jobs/job-store.ts';
import { createJobAgenda, startJobWorker, type JobWorker, type JobWorkerOptions } from '../../../src/jobs/worker.ts';
import { DynamicServers } from '../../../src/records/dynamic-servers.ts';
import type { ServerStatus } from '../../../src/records/statuses.ts';
import { recordsServerTypes } from '../../../src/runtime.ts';
import { loadServerTypes } from '../../../src/stacks/load.ts';
import type { ServerTypeConfig } from '../../../src/stacks/server-type-config.ts';
import { startEngineWorld, type EngineWorld } from '../../support/engine-world.ts';

/** An engine world whose records hand their work to a running job worker. */
export interface JobWorld {
  world: EngineWorld;
  /** Records opened with the Agenda work queue (the world's own records keep a RecordingWorkQueue). */
  records: DynamicServers;
  /** The in-process worker; undefined with `inProcessWorker: false` (the Agenda then only enqueues). */
  worker: JobWorker | undefined;
  serverTypes: ServerTypeConfig[];
  close(): Promise<void>;
}

/** Starts an engine world and a job worker on it; `timeouts` overrides every type's hang timeouts. */
export async function startJobWorld(
  options: Parameters<typeof startEngineWorld>[0] & {
    timeouts?: ServerTypeConfig['timeouts'];
    worker?: Partial<JobWorkerOptions>;
    /** false: no worker in this process (workers run as `dynamic-servers worker` processes). Default true. */
    inProcessWorker?: boolean;
    /** More server types, each a copy of the world's stack file under another name. */
    extraTypes?: string[];
    /** The job store (default: the world's PostgreSQL database). */
    jobStoreUrl?: string;
  } = {},
): Promise<JobWorld> {
  const world = await startEngineWorld(options);
  const url = world.database.url;
  const jobStoreUrl = options.jobStoreUrl ?? url;
  await prepareJobStore(jobStoreUrl);
  const agenda = createJobAgenda(jobStoreUrl, `test-worker-${process.pid}`);
  const workQueue = new AgendaWorkQueue(agenda);
  const stacks = join(world.projectDir, 'stacks');
  for (const type of options.extraTypes ?? []) await copyFile(join(stacks, `Pulumi.${options.serverType ?? 'demo'}.yaml`), join(stacks, `Pulumi.${type}.yaml`));
  const loaded = await loadServerTypes(stacks);
  const serverTypes = loaded.map((type) => (options.timeouts ? { ...type, timeouts: options.timeouts } : type));
  const records = await DynamicServers.open({ databaseUrl: url, serverTypes: recordsServerTypes(serverTypes), workQueue });
  const engine = new StackEngine({ ...world.settings, records, databaseUrl: url, dataDir: world.dataDir, env: {} });
  let worker: JobWorker | undefined;
  if (options.inProcessWorker === false) await agenda.start();
  else worker = await startJobWorker({ agenda, jobStoreUrl, databaseUrl: url, records, engine, workQueue, serverTypes, housekeepingIntervalMs: 1000, onError: () => {}, ...options.worker });
  return {
    world,
    records,
    worker,
    serverTypes,
    async close() {
      await (worker ? worker.stop() : agenda.stop()).catch(() => {});
      await records.close().catch(() => {});
      await world.close();
    },
  };
}

/** Waits until `records` shows `count` servers of `serverType` in `status`; throws after `timeoutMs`. */
export async function waitForStatus(records: DynamicServers, serverType: string, status: ServerStatus, count: number, timeoutMs = 90_000): Promise<void> {
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
