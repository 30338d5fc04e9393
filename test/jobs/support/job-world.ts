// An engine world (embedded PostgreSQL, local cloud, project directory) with the job layer on top: the job
// store prepared on the same database, records whose wake-ups schedule the worker's jobs, and one started worker.
import { copyFile, readFile, writeFile } from 'node:fs/promises';
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

/** The stack file key of each hang timeout. */
const TIMEOUT_KEYS: Record<keyof TypeTimeouts, string> = {
  newSeconds: 'dynamic-servers:newTimeoutSeconds',
  bootSeconds: 'dynamic-servers:bootTimeoutSeconds',
  stopSeconds: 'dynamic-servers:stopTimeoutSeconds',
  deleteSeconds: 'dynamic-servers:deleteTimeoutSeconds',
};

/** Starts an engine world and a job worker on it; `timeouts` sets the given hang timeouts in every type's stack file. */
export async function startJobWorld(
  options: Parameters<typeof startEngineWorld>[0] & {
    timeouts?: Partial<TypeTimeouts>;
    worker?: Partial<JobWorkerOptions>;
    /** false: no worker in this process (workers run as `dynamic-servers worker` processes). Default true. */
    inProcessWorker?: boolean;
    /** More server types, each a copy of the world's stack file under another name. */
    extraTypes?: string[];
    /** The job store (default: the world's PostgreSQL database). */
    jobStoreUrl?: string;
  } = {},
): Promise<JobWorld> {
  const timeouts = Object.fromEntries(Object.entries(options.timeouts ?? {}).map(([key, seconds]) => [TIMEOUT_KEYS[key as keyof TypeTimeouts], seconds]));
  const world = await startEngineWorld({ ...options, stackConfig: { ...options.stackConfig, ...timeouts } });
  const url = world.database.url;
  const jobStoreUrl = options.jobStoreUrl ?? url;
  await prepareJobStore(jobStoreUrl);
  const stacks = join(world.projectDir, 'stacks');
  for (const type of options.extraTypes ?? []) await copyFile(join(stacks, `Pulumi.${options.serverType ?? 'demo'}.yaml`), join(stacks, `Pulumi.${type}.yaml`));
  if (options.extraTypes?.length) await publishProject(world.records, world.projectDir);

  let worker: JobWorker | undefined;
  let requests: JobRequests | undefined;
  const records = await EngineRecords.openForEngine({
    databaseUrl: url,
    onWork: (serverType) => {
      if (worker?.handles(serverType)) requests?.requestReconcile(serverType).catch(() => {});
    },
  });
  const engine = new StackEngine({ ...world.settings, records, databaseUrl: url, dataDir: world.dataDir, env: {} });
  const serverTypes = (await records.serverTypes()).map(workerServerType);
  // An Agenda connects its job store when created and lets go of it only when stopped after a start: make one only
  // for a worker that will run here.
  if (options.inProcessWorker !== false) {
    const agenda = createJobAgenda(jobStoreUrl, `test-worker-${process.pid}`);
    requests = new JobRequests(agenda);
    worker = await startJobWorker({ agenda, jobStoreUrl, databaseUrl: url, records, engine, requests, serverTypes, housekeepingIntervalMs: 1000, onError: () => {}, ...options.worker });
  }
  return {
    world,
    records,
    worker,
    serverTypes,
    async close() {
      await worker?.stop().catch(() => {});
      await engine.close().catch(() => {});
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

/** Resolves once `condition` holds (checked every 200 ms); throws naming `what` after `timeoutMs`. */
export async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Points the stack file of `serverType` (default `demo`) at `snapshot` and publishes it: a new version of the type, with a new template. */
export async function publishSnapshot(world: JobWorld, snapshot: string, serverType = 'demo'): Promise<void> {
  const file = join(world.world.projectDir, 'stacks', `Pulumi.${serverType}.yaml`);
  await writeFile(file, (await readFile(file, 'utf8')).replace(/snapshot: \S+/, `snapshot: ${snapshot}`));
  const report = await publishProject(world.records, world.world.projectDir);
  if (!report.published.some((published) => published.serverType === serverType)) throw new Error(`publishing ${snapshot} made no new version of ${serverType}`);
}
