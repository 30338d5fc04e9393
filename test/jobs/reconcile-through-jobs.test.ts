// The engine suite's scenario, driven only by the job layer: ensure() commits and enqueues, a job worker on
// Agenda (PostgreSQL job store) reconciles and verifies until the rows and the local cloud agree.
import { afterAll, beforeAll, test } from '@jest/globals';
import { ensureThreeThenOne } from './support/engine-scenario.ts';
import { startJobWorld, type JobWorld } from './support/job-world.ts';

let jobs: JobWorld;

beforeAll(async () => {
  jobs = await startJobWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } } });
});

afterAll(async () => {
  await jobs?.close();
});

test('ensure 3 gives three running servers through the jobs; ensure 1 deletes the other two', async () => {
  await ensureThreeThenOne(jobs);
});
