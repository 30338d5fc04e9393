// Servers that fail through the real engine and jobs on the local cloud, and what the type's policy makes of them:
// a server that never finishes booting ends hanging and, under the default policy, is deleted from the cloud while
// a replacement starts; under `keep` it stays, `list` flags it, and `dynamic-servers delete` removes it. A create the
// cloud refuses ends errored and is replaced. A row that is never created ends hanging after its timeout.
import { afterEach, expect, test } from '@jest/globals';
import type { ServerEvent } from '../../src/records/events.ts';
import type { ServerRecord } from '../../src/records/records.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { runCli } from '../support/cli.ts';
import { startJobWorld, waitForStatus, type JobWorld } from './support/job-world.ts';

const FAST = { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 };
let jobs: JobWorld | undefined;
let worker: WorkerProcess | undefined;

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await jobs?.close();
  jobs = undefined;
});

/** Resolves with the first `hanging` event `jobs` hears. */
function firstHang(world: JobWorld): Promise<ServerEvent> {
  return new Promise((resolve) => {
    const stop = world.records.on('hanging', (event) => {
      stop();
      resolve(event);
    });
  });
}

/** The statuses one server went through, oldest first. */
async function statusesOf(world: JobWorld, serverId: number): Promise<string[]> {
  return (await world.records.statusHistory(serverId)).map((change) => change.to);
}

/** The local cloud's servers that are not being deleted, by id. */
function liveCloudIds(world: JobWorld): string[] {
  return world.world.cloud
    .inspect()
    .servers.filter((server) => server.status !== 'deleting')
    .map((server) => String(server.id));
}

test('a server that never finishes booting ends hanging; the default policy deletes it from the cloud and a replacement runs', async () => {
  jobs = await startJobWorld({ cloud: { delays: FAST, faults: { hangIn: ['initializing'] } }, timeouts: { bootSeconds: 1 } });
  const hung = firstHang(jobs);
  await jobs.records.ensure('demo', 1);
  const { server, reason, from } = await hung;
  // The cloud recovers, so the replacement the hang asked for boots.
  jobs.world.cloud.updateSettings({ faults: { hangIn: [] } });
  expect({ from, reason }).toEqual({ from: 'starting', reason: 'still starting after the 1 s timeout' });

  await waitForStatus(jobs.records, 'demo', 'deleted', 1);
  await waitForStatus(jobs.records, 'demo', 'running', 1);
  expect(await statusesOf(jobs, server.id)).toEqual(['new', 'starting', 'hanging', 'draining', 'stopping', 'deleting', 'deleted']);
  const [replacement] = await jobs.records.servers({ serverType: 'demo', status: 'running' });
  expect((await jobs.records.statusHistory(replacement!.id))[0]!.reason).toBe('replaces servers that no longer count (0 of 1 desired)');
  expect(liveCloudIds(jobs)).toEqual([replacement!.providerId]);
  expect(server.providerId).not.toBe(replacement!.providerId);
  expect(await jobs.records.provisionedCount('demo')).toBe((await jobs.records.desiredState('demo')).desiredCount);
});

test('keep: the hung server stays in the cloud and hanging, list flags it, and dynamic-servers delete removes it', async () => {
  jobs = await startJobWorld({
    cloud: { delays: FAST, faults: { hangIn: ['initializing'] } },
    timeouts: { bootSeconds: 1 },
    stackConfig: { 'dynamic-servers:hangingServers': 'keep' },
  });
  const hung = firstHang(jobs);
  await jobs.records.ensure('demo', 1);
  const { server } = await hung;
  jobs.world.cloud.updateSettings({ faults: { hangIn: [] } });
  await waitForStatus(jobs.records, 'demo', 'running', 1);

  const kept = await jobs.records.server(server.id);
  expect(kept).toMatchObject({ status: 'hanging', providerId: expect.any(String) });
  const [replacement] = await jobs.records.servers({ serverType: 'demo', status: 'running' });
  expect(liveCloudIds(jobs).sort()).toEqual([kept.providerId, replacement!.providerId].sort());
  expect(jobs.world.cloud.inspect().servers.find((cloud) => String(cloud.id) === kept.providerId)).toMatchObject({ status: 'initializing', hung: true });

  const list = await runCli(jobs.world.cliEnv, 'list', '--type', 'demo');
  expect(list.code).toBe(0);
  const lineOf = (row: ServerRecord) => list.stdout.split('\n').find((line) => line.includes(` ${row.name} `)) ?? '';
  expect(lineOf(kept)).toMatch(/hanging .* not counted, still in the cloud$/);
  expect(lineOf(replacement!)).not.toContain('not counted');
  const listed = JSON.parse((await runCli(jobs.world.cliEnv, 'list', '--json')).stdout) as (ServerRecord & { lingering: boolean })[];
  expect(listed.map((row) => [row.name, row.status, row.lingering])).toEqual([
    [kept.name, 'hanging', true],
    [replacement!.name, 'running', false],
  ]);

  const deleted = await runCli(jobs.world.cliEnv, 'delete', kept.name);
  expect(deleted.code).toBe(0);
  expect(JSON.parse(deleted.stdout)).toMatchObject({ changed: true, counted: false, desiredCount: 1, server: { name: kept.name, status: 'stopping' } });
  await waitForStatus(jobs.records, 'demo', 'deleted', 1);
  const history = await jobs.records.statusHistory(kept.id);
  expect(history.map((change) => change.to)).toEqual(['new', 'starting', 'hanging', 'stopping', 'deleting', 'deleted']);
  expect(history.find((change) => change.to === 'stopping')?.reason).toBe('deleted on request');
  expect(liveCloudIds(jobs)).toEqual([replacement!.providerId]);
  expect(await jobs.records.provisionedCount('demo')).toBe(1);

  // Deleting it again changes nothing; an unknown server is bad input (exit 2).
  expect(JSON.parse((await runCli(jobs.world.cliEnv, 'delete', String(kept.id))).stdout)).toMatchObject({ changed: false });
  const unknown = await runCli(jobs.world.cliEnv, 'delete', 'demo-999');
  expect({ code: unknown.code, stderr: unknown.stderr.trim() }).toEqual({ code: 2, stderr: 'dynamic-servers: no server has name or id demo-999' });
});

// The worker runs as `dynamic-servers worker`: a failed resource of the inline Pulumi program leaves a rejected
// promise that the worker process logs and survives (and that would fail this Jest process).
test('a refused create ends errored with the cloud message, and its replacement runs', async () => {
  jobs = await startJobWorld({ cloud: { delays: FAST }, inProcessWorker: false });
  worker = await startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '1']);
  jobs.world.cloud.failNext({ count: 1, status: 403, code: 'resource_limit_exceeded', match: { method: 'POST', pathPrefix: '/servers' } });

  await jobs.records.ensure('demo', 1);
  await waitForStatus(jobs.records, 'demo', 'errored', 1);
  await waitForStatus(jobs.records, 'demo', 'running', 1);
  const [errored] = await jobs.records.servers({ serverType: 'demo', status: 'errored' });
  expect(errored).toMatchObject({ providerId: null, lastError: { class: 'QuotaExceededError', message: expect.stringContaining('resource_limit_exceeded') } });
  expect(await statusesOf(jobs, errored!.id)).toEqual(['new', 'errored']);
  const erroredEvents = worker.lines.filter((line) => line.event === 'server-event' && line.name === 'errored');
  expect(erroredEvents.map((line) => line.server)).toEqual([errored!.name]);
  const [replacement] = await jobs.records.servers({ serverType: 'demo', status: 'running' });
  expect(liveCloudIds(jobs)).toEqual([replacement!.providerId]);
  expect(await jobs.records.desiredState('demo')).toMatchObject({ desiredCount: 1, createFailures: 0 });
  expect(await worker.stop()).toBe(0);
});

test('a row never created (left in new) ends hanging after the new timeout and stops counting; a replacement row takes its place', async () => {
  // No worker: nothing creates the row, as after a create that was never recorded.
  jobs = await startJobWorld({ cloud: { delays: FAST }, inProcessWorker: false, timeouts: { newSeconds: 1 } });
  await jobs.records.ensure('demo', 1);
  const [row] = await jobs.records.servers({ serverType: 'demo' });
  await new Promise((resolve) => setTimeout(resolve, 1500));

  const hanging = await runCli(jobs.world.cliEnv, 'hanging', '--json');
  expect(hanging.code).toBe(0);
  expect(JSON.parse(hanging.stdout)).toEqual([expect.objectContaining({ id: row!.id, hungIn: 'new', timeoutSeconds: 1 })]);
  expect(await jobs.records.server(row!.id)).toMatchObject({ status: 'hanging', providerId: null });
  expect((await jobs.records.statusHistory(row!.id)).map((change) => `${change.to}: ${change.reason}`)).toEqual([
    'new: ensure(demo, 1)',
    'hanging: still new after the 1 s timeout',
  ]);
  const counted = await jobs.records.servers({ serverType: 'demo', provisioned: true });
  expect(counted.map((server) => [server.status, server.id === row!.id])).toEqual([['new', false]]);
  expect(await jobs.records.desiredState('demo')).toMatchObject({ desiredCount: 1, createFailures: 0 });
});
