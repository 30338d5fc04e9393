// The demo: the whole product on this machine. An embedded PostgreSQL, the local cloud, a `dynamic-servers worker`
// process and this process calling ensure() and decrease() as a user's script would; every step timed, and
// everything it started stopped again, checked rather than assumed.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerProgress, type ProgressStream } from '../cli/progress.ts';
import { startEmbeddedPostgres } from '../db/database.ts';
import { startWorkerProcess } from '../jobs/worker-process.ts';
import { startLocalCloud } from '../local-cloud/local-cloud.ts';
import { DynamicServers } from '../records/dynamic-servers.ts';
import type { ServerStatus } from '../records/statuses.ts';
import { installEngine } from '../toolchain/engine.ts';
import { processesUsing } from './processes-using.ts';
import { CHECKOUT_DIR, createScratchProject } from './scratch-project.ts';

/** The server type the demo runs (stacks/Pulumi.demo.yaml of the checkout). */
export const DEMO_SERVER_TYPE = 'demo';

/** The demo could not finish a step; everything it started has been stopped. */
export class DemoError extends Error {
  override name = 'DemoError';
}

/** How to run the demo. */
export interface DemoOptions {
  /** Where the progress goes; live lines when it is a TTY, timestamped lines otherwise. */
  out: ProgressStream;
  /** Servers the demo asks for first (default 3) and how many remain after its decrease (default 1). */
  servers?: number;
  keep?: number;
  /** How long one step may take before the demo gives up (default 5 minutes). */
  stepTimeoutMs?: number;
  /** Aborting stops the demo at the next check and cleans up. */
  signal?: AbortSignal;
}

/** What the demo did: each step's title and duration, and the checks of its shutdown. */
export interface DemoReport {
  steps: { title: string; seconds: number }[];
  workerExit: number | string;
  serversLeftInCloud: number;
  processesLeft: number[];
}

/** Local cloud step durations that make each status visible for a moment (milliseconds). */
const CLOUD_DELAYS = { initializing: 1500, starting: 1500, stopping: 800, rebooting: 1000, deleting: 1000 };
const POLL_MS = 250;

/**
 * Runs the demo: starts the parts, ensures `servers` servers of type `demo` and waits until they run, decreases to
 * `keep` and waits until the others are deleted, then ensures 0, stops the worker with SIGTERM and the rest, and
 * checks that no server and no process is left. Throws DemoError (after cleaning up) when a step fails.
 */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const servers = options.servers ?? 3;
  const keep = options.keep ?? 1;
  const stepTimeoutMs = options.stepTimeoutMs ?? 300_000;
  const out = options.out;
  const steps: DemoReport['steps'] = [];
  const cleanups: (() => Promise<void>)[] = [];
  let progress: ServerProgress | null = null;
  const say = (text: string) => (progress ? progress.step(text) : out.write(out.isTTY ? `${text}\n` : `${new Date().toISOString()} ${text}\n`));

  const timed = async <T>(title: string, work: () => Promise<T>, done: (result: T) => string = () => 'done'): Promise<T> => {
    say(`${title} ...`);
    const started = performance.now();
    const result = await work();
    const seconds = (performance.now() - started) / 1000;
    steps.push({ title, seconds });
    say(`${title}: ${done(result)} (${seconds.toFixed(1)} s)`);
    return result;
  };

  const workDir = await mkdtemp(join(tmpdir(), 'dynamic-servers-demo-'));
  cleanups.push(() => rm(workDir, { recursive: true, force: true }));
  const startedIn = [workDir];
  let workerExit: number | string = 'not started';
  let serversLeftInCloud = -1;
  try {
    await timed('Pulumi CLI', async () => (await installEngine({ log: (line) => say(`toolchain: ${line}`) })).version, (version) => `v${version} ready`);
    const parts = await timed(
      'start PostgreSQL, the local cloud and a worker',
      async () => {
        const database = await startEmbeddedPostgres('dynamic_servers_demo');
        startedIn.push(database.dataDir);
        cleanups.push(() => database.stop());
        const cloud = await startLocalCloud({ delays: CLOUD_DELAYS });
        cleanups.push(() => cloud.stop());
        const projectDir = join(workDir, 'project');
        const dataDir = join(workDir, 'data');
        await createScratchProject(projectDir, { [DEMO_SERVER_TYPE]: await readFile(join(CHECKOUT_DIR, 'stacks', `Pulumi.${DEMO_SERVER_TYPE}.yaml`), 'utf8') });
        const env: NodeJS.ProcessEnv = {
          ...process.env,
          DATABASE_URL: database.url,
          DYNAMIC_SERVERS_PROJECT_DIR: projectDir,
          DYNAMIC_SERVERS_DATA_DIR: dataDir,
          PULUMI_CONFIG_PASSPHRASE: randomBytes(24).toString('base64url'),
          LOCAL_CLOUD_ENDPOINT: cloud.url,
        };
        delete env.PULUMI_BACKEND_URL;
        delete env.DYNAMIC_SERVERS_JOBS_URL;
        const worker = await startWorkerProcess(env, ['--housekeeping-interval', '5'], (line) => {
          if (line.event === 'error') say(`worker: ${line.msg}`);
        });
        cleanups.push(async () => {
          workerExit = await worker.stop();
        });
        // The worker published the stack files at its start; a script needs nothing but the database.
        const records = await DynamicServers.open({ databaseUrl: database.url });
        cleanups.push(() => records.close());
        return { database, cloud, worker, records };
      },
      ({ cloud, worker }) => `database on 127.0.0.1, cloud at ${cloud.url}, worker pid ${worker.child.pid} (status page ${worker.httpUrl}/)`,
    );
    const { records, cloud } = parts;
    progress = new ServerProgress(records, { serverTypes: [DEMO_SERVER_TYPE], out });
    cleanups.push(async () => progress?.stop());

    /** Waits until the type's counts satisfy `done`; a server errored or hanging, a timeout or an abort ends the demo. */
    const waitFor = async (what: string, done: (counts: Record<ServerStatus, number>) => boolean) => {
      const deadline = Date.now() + stepTimeoutMs;
      for (;;) {
        const counts = await records.countPerStatus(DEMO_SERVER_TYPE);
        // The step is over once the database says so and the progress lines have shown it.
        if (done(counts) && progress?.reflects(await records.servers({ serverType: DEMO_SERVER_TYPE }))) return counts;
        if (counts.errored + counts.hanging > 0) throw new DemoError(`a server failed while waiting for ${what}: ${JSON.stringify(counts)}`);
        if (options.signal?.aborted) throw new DemoError(`interrupted while waiting for ${what}`);
        if (Date.now() > deadline) throw new DemoError(`waited ${stepTimeoutMs / 1000} s for ${what}; the servers are ${JSON.stringify(counts)}`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    };
    const pending = (counts: Record<ServerStatus, number>) => counts.new + counts.starting + counts.rebooting + counts.stopping + counts.stopped + counts.deleting;

    await timed(
      `ensure(${DEMO_SERVER_TYPE}, ${servers})`,
      async () => {
        await records.ensure(DEMO_SERVER_TYPE, servers);
        return waitFor(`${servers} running servers`, (counts) => counts.running === servers && pending(counts) === 0);
      },
      (counts) => `${counts.running} running`,
    );
    await timed(
      `decrease(${DEMO_SERVER_TYPE}, ${servers - keep})`,
      async () => {
        await records.decrease(DEMO_SERVER_TYPE, servers - keep);
        return waitFor(`${keep} running server`, (counts) => counts.running === keep && pending(counts) === 0);
      },
      (counts) => `${counts.running} running, ${counts.deleted} deleted`,
    );
    await timed(
      'tear down',
      async () => {
        await records.ensure(DEMO_SERVER_TYPE, 0);
        const counts = await waitFor('every server deleted', (current) => current.running === 0 && pending(current) === 0);
        serversLeftInCloud = cloud.inspect().servers.length;
        return counts;
      },
      (counts) => `${counts.deleted} deleted, ${serversLeftInCloud} left in the cloud`,
    );
  } finally {
    progress?.stop();
    progress = null;
    const errors: unknown[] = [];
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) out.write(`cleanup problems: ${errors.map(String).join('; ')}\n`);
  }
  const processesLeft = (await processesUsing(startedIn)).map((found) => found.pid);
  say(`clean shutdown: worker exited ${workerExit}, ${serversLeftInCloud} servers left in the cloud, ${processesLeft.length} processes left`);
  say(`steps: ${steps.map((step) => `${step.title} ${step.seconds.toFixed(1)} s`).join('; ')}`);
  return { steps, workerExit, serversLeftInCloud, processesLeft };
}
