// Drift through the real engine and jobs on the local cloud: a running server deleted behind the engine's back (the
// local cloud's admin API) is recorded deleted by the next housekeeping run, with a reason naming the cloud, and a
// replacement runs; a running server the cloud powers off is replaced the same way. Prints the detection times.
import { afterEach, expect, test } from '@jest/globals';
import type { ServerRecord } from '../../src/records/records.ts';
import { startJobWorld, waitForStatus, type JobWorld } from './support/job-world.ts';

const FAST = { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 };
/** The worker's housekeeping interval in these tests (the job world's). */
const HOUSEKEEPING_MS = 1000;
let jobs: JobWorld | undefined;

afterEach(async () => {
  await jobs?.close();
  jobs = undefined;
});

/** Start and end times of the worker's housekeeping runs, as its Agenda reports them. */
function recordHousekeepingRuns(world: JobWorld): { start: number; end?: number }[] {
  const runs: { start: number; end?: number }[] = [];
  world.worker!.agenda.on('start:housekeeping', () => runs.push({ start: Date.now() }));
  world.worker!.agenda.on('complete:housekeeping', () => {
    const last = runs.at(-1);
    if (last && last.end === undefined) last.end = Date.now();
  });
  return runs;
}

async function until<T>(read: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The local cloud's servers that are not being deleted, by id. */
function liveCloudIds(world: JobWorld): string[] {
  return world.world.cloud
    .inspect()
    .servers.filter((server) => server.status !== 'deleting')
    .map((server) => String(server.id))
    .sort();
}

async function twoRunning(world: JobWorld): Promise<[ServerRecord, ServerRecord]> {
  await world.records.ensure('demo', 2);
  await waitForStatus(world.records, 'demo', 'running', 2);
  return (await world.records.servers({ serverType: 'demo', status: 'running' })) as [ServerRecord, ServerRecord];
}

test('a running server deleted through the local cloud admin API is recorded deleted by the next housekeeping run, and its replacement runs', async () => {
  jobs = await startJobWorld({ cloud: { delays: FAST } });
  const runs = recordHousekeepingRuns(jobs);
  const [victim, survivor] = await twoRunning(jobs);

  const removedAt = Date.now();
  const answer = await fetch(`${jobs.world.cloud.adminUrl}/servers/${victim.providerId}`, { method: 'DELETE' });
  expect(answer.status).toBe(200);
  expect(liveCloudIds(jobs)).toEqual([survivor.providerId]);

  await waitForStatus(jobs.records, 'demo', 'deleted', 1);
  const recorded = (await jobs.records.statusHistory(victim.id)).at(-1)!;
  expect(recorded).toMatchObject({ from: 'running', to: 'deleted', reason: 'the local cloud no longer has it (deleted outside the engine)' });
  // Within one housekeeping interval: no later than the end of the first housekeeping run that began after the removal.
  const firstRunAfter = await until(() => runs.find((run) => run.start >= removedAt && run.end !== undefined), 'a housekeeping run after the removal');
  expect(recorded.changedAt.getTime()).toBeLessThanOrEqual(firstRunAfter.end!);

  await waitForStatus(jobs.records, 'demo', 'running', 2);
  const runningAt = Date.now();
  const running = await jobs.records.servers({ serverType: 'demo', status: 'running' });
  expect(running.map((row) => row.id)).toEqual([survivor.id, expect.any(Number)]);
  expect(await jobs.records.provisionedCount('demo')).toBe((await jobs.records.desiredState('demo')).desiredCount);
  expect(await jobs.records.provisionedCount('demo')).toBe(2);
  expect(liveCloudIds(jobs)).toEqual(running.map((row) => row.providerId).sort());
  process.stdout.write(
    `drift (local cloud, housekeeping every ${HOUSEKEEPING_MS} ms): deleted server recorded ${recorded.changedAt.getTime() - removedAt} ms after its removal; ` +
      `replacement running ${runningAt - removedAt} ms after it\n`,
  );
});

test('a running server the cloud powers off is replaced: deleted through the stack, a new server runs in its place', async () => {
  jobs = await startJobWorld({ cloud: { delays: FAST } });
  const [victim, survivor] = await twoRunning(jobs);

  const stoppedAt = Date.now();
  const answer = await fetch(`${jobs.world.cloud.url}/servers/${victim.providerId}/actions/poweroff`, { method: 'POST' });
  expect(answer.status).toBe(201);

  await waitForStatus(jobs.records, 'demo', 'deleted', 1);
  await waitForStatus(jobs.records, 'demo', 'running', 2);
  const history = await jobs.records.statusHistory(victim.id);
  expect(history.slice(-3).map((change) => `${change.from}>${change.to}: ${change.reason}`)).toEqual([
    'running>stopping: the local cloud reports it off: replaced by a new server',
    'stopping>deleting: pulumi up deleted it',
    'deleting>deleted: the cloud answered not found',
  ]);
  const running = await jobs.records.servers({ serverType: 'demo', status: 'running' });
  expect(running.map((row) => row.id)).toEqual([survivor.id, expect.any(Number)]);
  expect(liveCloudIds(jobs)).toEqual(running.map((row) => row.providerId).sort());
  expect(await jobs.records.provisionedCount('demo')).toBe(2);
  process.stdout.write(`drift (local cloud): powered-off server replaced, replacement running ${Date.now() - stoppedAt} ms after the power-off\n`);
});
