// `dynamic-servers worker` on SIGTERM finishes the job it is running (here a reconcile in the middle of its
// Pulumi update), then exits 0; the servers that update created are recorded, none is left half-done.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startJobWorld, type JobWorld } from './support/job-world.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';

let jobs: JobWorld;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  jobs = await startJobWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } }, inProcessWorker: false });
});

afterAll(async () => {
  await worker?.stop();
  await jobs?.close();
});

test('SIGTERM during a reconcile lets it finish, then the worker exits 0', async () => {
  worker = await startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '1']);
  await jobs.records.ensure('demo', 2);
  const deadline = Date.now() + 60_000;
  while (!worker.lines.some((line) => line.event === 'job-start' && line.job === 'reconcile:demo')) {
    if (Date.now() > deadline) throw new Error('the worker never started reconcile:demo');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(await worker.stop()).toBe(0);

  const events = worker.lines.map((line) => `${line.event} ${line.job ?? ''}`.trim());
  const stopping = events.indexOf('worker-stopping');
  expect(stopping).toBeGreaterThan(events.indexOf('job-start reconcile:demo'));
  expect(events.slice(stopping)).toContain('job-end reconcile:demo');
  expect(events.at(-1)).toBe('worker-stopped');
  const rows = await jobs.records.servers({ serverType: 'demo' });
  expect(rows.map((row) => row.status).sort()).toEqual(['starting', 'starting']);
  expect(rows.every((row) => row.providerId !== null)).toBe(true);
});
