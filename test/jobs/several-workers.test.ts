// Three `dynamic-servers worker` processes on one database: 30 count changes across 3 types converge; no stack
// ever runs two updates at once (from each stack's update history) and no transition is recorded or attempted
// twice (from the status history and the workers' logs); one worker is SIGKILLed in the middle of a job.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { openTypeStack } from '../../src/engine/type-stack.ts';
import { startJobWorld, waitForStatus, type JobWorld } from './support/job-world.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';

const TYPES = ['demo', 'alpha', 'beta'];
let jobs: JobWorld;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  jobs = await startJobWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } }, inProcessWorker: false, extraTypes: ['alpha', 'beta'] });
  for (let index = 0; index < 3; index += 1) workers.push(await startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '2']));
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await jobs?.close();
});

/** The 30 counts, in order; change i goes to type TYPES[i % 3]. */
const COUNTS = [3, 1, 2, 0, 2, 3, 1, 3, 0, 2, 0, 1, 3, 2, 2, 1, 1, 3, 0, 3, 1, 2, 2, 0, 3, 0, 2, 1, 2, 1];

/** Most updates of one stack that overlapped in time, from its history. */
async function maxConcurrentUpdates(type: string): Promise<{ updates: number; maxConcurrent: number }> {
  const stack = await openTypeStack(jobs.world.settings, type, async () => {});
  const history = (await stack.history()).filter((entry) => entry.kind === 'update');
  const edges = history.flatMap((entry) => [
    { at: new Date(entry.startTime).getTime(), step: 1 },
    { at: new Date(entry.endTime ?? entry.startTime).getTime(), step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let current = 0;
  let maxConcurrent = 0;
  for (const edge of edges) maxConcurrent = Math.max(maxConcurrent, (current += edge.step));
  return { updates: history.length, maxConcurrent };
}

test('30 changes across 3 types converge on 3 workers, one of them killed mid-job', async () => {
  // This process only calls ensure(); the workers record every running and deleted, and their events reach it.
  const heard = { running: [] as number[], deleted: [] as number[], local: 0 };
  for (const name of ['running', 'deleted'] as const) {
    jobs.records.on(name, (event, { remote }) => {
      heard[name].push(event.server.id);
      if (!remote) heard.local += 1;
    });
  }
  const wanted = new Map<string, number>();
  let killed = false;
  for (let change = 0; change < 30; change += 1) {
    const type = TYPES[change % 3]!;
    const count = COUNTS[change]!;
    await jobs.records.ensure(type, count);
    wanted.set(type, count);
    if (change === 9) {
      // Wait for a worker inside a reconcile (a Pulumi update takes seconds), then kill it there.
      const deadline = Date.now() + 60_000;
      let busy: WorkerProcess | undefined;
      while (!busy && Date.now() < deadline) {
        busy = workers.find((worker) => worker.lines.filter((line) => line.job?.startsWith('reconcile:')).at(-1)?.event === 'job-start');
        if (!busy) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (busy) {
        busy.child.kill('SIGKILL');
        expect(await busy.exited).toBe('SIGKILL');
        killed = true;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  expect(killed).toBe(true);

  for (const type of TYPES) {
    await waitForStatus(jobs.records, type, 'running', wanted.get(type)!, 240_000);
    for (const status of ['new', 'starting', 'stopping', 'deleting'] as const) await waitForStatus(jobs.records, type, status, 0, 120_000);
  }

  const running = await jobs.records.servers({ status: 'running' });
  const cloud = jobs.world.cloud.inspect().servers.filter((server) => server.status !== 'deleting');
  expect(running.map((row) => Number(row.providerId)).sort()).toEqual(cloud.map((server) => server.id).sort());

  await new Promise((resolve) => setTimeout(resolve, 500));
  const everRunning: number[] = [];
  const deleted: number[] = [];
  for (const row of await jobs.records.servers()) {
    const history = await jobs.records.statusHistory(row.id);
    if (history.some((change) => change.to === 'running')) everRunning.push(row.id);
    if (row.status === 'deleted') deleted.push(row.id);
  }
  expect(everRunning.length).toBeGreaterThan(0);
  expect(deleted.length).toBeGreaterThan(0);
  expect([...heard.running].sort((a, b) => a - b)).toEqual(everRunning);
  expect([...heard.deleted].sort((a, b) => a - b)).toEqual(deleted);
  expect(heard.local).toBe(0);

  const transitionCounts: Record<string, number> = {};
  for (const row of await jobs.records.servers()) {
    const history = await jobs.records.statusHistory(row.id);
    for (const status of ['running', 'deleted'] as const) {
      const times = history.filter((change) => change.to === status).length;
      transitionCounts[`${status}×${times}`] = (transitionCounts[`${status}×${times}`] ?? 0) + 1;
      expect(times).toBeLessThanOrEqual(1);
    }
  }
  const repeatedAttempts = workers.flatMap((worker) => worker.lines).filter((line) => line.event === 'error' && line.msg.includes('InvalidTransition'));
  expect(repeatedAttempts).toEqual([]);

  const stacks: Record<string, { updates: number; maxConcurrent: number }> = {};
  for (const type of TYPES) stacks[type] = await maxConcurrentUpdates(type);
  for (const type of TYPES) expect(stacks[type]!.maxConcurrent).toBe(1);
  process.stdout.write(`several workers: ${JSON.stringify({ wanted: Object.fromEntries(wanted), stacks, transitionCounts })}\n`);
}, 600_000);
