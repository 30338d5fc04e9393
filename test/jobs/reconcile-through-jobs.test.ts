// The engine suite's scenario, driven only by the job layer: ensure() commits and enqueues, a job worker on
// Agenda (PostgreSQL job store) reconciles and verifies until the rows and the local cloud agree.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ensureThreeThenOne } from './support/engine-scenario.ts';
import { startJobWorld, waitForStatus, type JobWorld } from './support/job-world.ts';

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

test('reboot() goes through the jobs: the verify job sends one reboot to the cloud and records running once it ran', async () => {
  const [server] = await jobs.records.servers({ serverType: 'demo', status: 'running' });
  expect(server).toBeDefined();
  const request = await jobs.records.reboot('demo');
  expect(request.rebootingServerIds).toEqual([server!.id]);
  await waitForStatus(jobs.records, 'demo', 'running', 1);
  expect(await jobs.records.server(server!.id)).toMatchObject({ status: 'running', rebootRequestedAt: null, rebootSentAt: null });
  expect((await jobs.records.statusHistory(server!.id)).slice(-2).map((change) => `${change.from}>${change.to}`)).toEqual(['running>rebooting', 'rebooting>running']);
  expect(jobs.world.cloud.inspect().servers.map((cloud) => [String(cloud.id), cloud.status, cloud.actions.reboot_server])).toEqual([[server!.providerId, 'running', 1]]);
});
