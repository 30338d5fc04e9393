// Servers that never finish booting end `hanging` after their type's timeout; a server whose create the cloud
// refuses ends `errored` with the cloud's message and does not hold up the type's next change.
import { afterEach, expect, test } from '@jest/globals';
import type { ServerEvent } from '../../src/records/events.ts';
import { startJobWorld, waitForStatus, type JobWorld } from './support/job-world.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';

const FAST = { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 };
let jobs: JobWorld | undefined;
let worker: WorkerProcess | undefined;

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await jobs?.close();
  jobs = undefined;
});

test('a server that never finishes booting ends hanging after the boot timeout, with the event, and is not counted', async () => {
  jobs = await startJobWorld({ cloud: { delays: FAST, faults: { hangIn: ['initializing'] } }, timeouts: { bootSeconds: 1, stopSeconds: 600, deleteSeconds: 600 } });
  const hanging: ServerEvent[] = [];
  jobs.records.on('hanging', (event) => hanging.push(event));

  await jobs.records.ensure('demo', 1);
  await waitForStatus(jobs.records, 'demo', 'hanging', 1);

  const [row] = await jobs.records.servers({ serverType: 'demo', status: 'hanging' });
  expect(hanging).toEqual([expect.objectContaining({ from: 'starting', server: expect.objectContaining({ id: row!.id, status: 'hanging' }) })]);
  expect(hanging[0]!.reason).toContain('1 s timeout');
  expect((await jobs.records.statusHistory(row!.id)).map((change) => change.to)).toEqual(['new', 'starting', 'hanging']);
  expect(await jobs.records.provisionedCount('demo')).toBe(0);
  expect(jobs.world.cloud.inspect().servers.map((server) => server.status)).toEqual(['initializing']);
});

// The worker runs as `dynamic-servers worker`: a failed resource of the inline Pulumi program leaves a rejected
// promise that the worker process logs and survives (and that would fail this Jest process).
test('a refused create ends errored with the cloud message; the next change of the type still gets its server', async () => {
  jobs = await startJobWorld({ cloud: { delays: FAST }, inProcessWorker: false });
  worker = await startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '1']);
  jobs.world.cloud.failNext({ count: 1, status: 403, code: 'resource_limit_exceeded', match: { method: 'POST', pathPrefix: '/servers' } });

  await jobs.records.ensure('demo', 1);
  await waitForStatus(jobs.records, 'demo', 'errored', 1);
  const [row] = await jobs.records.servers({ serverType: 'demo', status: 'errored' });
  expect(row!.lastError).toMatchObject({ class: 'QuotaExceededError', message: expect.stringContaining('resource_limit_exceeded') });
  const erroredEvents = worker.lines.filter((line) => line.event === 'server-event' && line.name === 'errored');
  expect(erroredEvents.map((line) => line.server)).toEqual([row!.name]);
  expect(await jobs.records.provisionedCount('demo')).toBe(0);

  await jobs.records.ensure('demo', 1);
  await waitForStatus(jobs.records, 'demo', 'running', 1);
  expect(await jobs.records.servers({ serverType: 'demo', status: 'errored' })).toHaveLength(1);
  expect(jobs.world.cloud.inspect().servers).toHaveLength(1);
  expect(await worker.stop()).toBe(0);
});
