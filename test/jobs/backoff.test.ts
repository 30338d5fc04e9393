// Replacements never loop: a type whose servers always hang (a broken snapshot, 1 s boot timeout) is left alone for
// two minutes with a worker running. The creates the cloud saw are printed and bounded by the back-off schedule
// (createPauseSeconds), not by how fast this machine is: one create, then one per failure, each after the pause that
// failure started. `status` shows the pause, `backingOff` fires; publishing a fixed template ends the back-off.
import { afterAll, expect, test } from '@jest/globals';
import { createPauseSeconds, type CreateBackoff } from '../../src/api.ts';
import { runCli } from '../support/cli.ts';
import { publishSnapshot, startJobWorld, until, waitForStatus, type JobWorld } from './support/job-world.ts';

const FAST = { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 };
const WINDOW_SECONDS = 120;
let jobs: JobWorld | undefined;

afterAll(async () => {
  await jobs?.close();
});

/**
 * The most creates the back-off lets through in `windowSeconds` for one desired server, however fast its servers
 * fail: the first create at once, then after each failure one more, but only after the pause that failure starts.
 */
function maxCreates(windowSeconds: number): number {
  let creates = 1;
  let elapsed = 0;
  for (let failures = 1; ; failures += 1) {
    elapsed += createPauseSeconds(failures);
    if (elapsed > windowSeconds) return creates;
    creates += 1;
  }
}


test('a type whose servers always hang, left alone for two minutes: creates bounded by the back-off; a fixed template ends it', async () => {
  jobs = await startJobWorld({
    cloud: { delays: FAST, snapshots: ['base-snapshot', 'broken-snapshot'], faults: { brokenSnapshots: ['broken-snapshot'] } },
    timeouts: { bootSeconds: 1 },
  });
  const world = jobs;
  await publishSnapshot(world, 'broken-snapshot');
  const pauses: CreateBackoff[] = [];
  world.records.on('backingOff', (backoff) => pauses.push(backoff));
  const createsInCloud = () => world.world.cloud.inspect().stats.byRoute['POST /servers'] ?? 0;

  const startedAt = Date.now();
  await world.records.ensure('demo', 1);

  // The first pause: `status` shows it.
  await until(async () => pauses.length > 0, 'the first backingOff event');
  expect(pauses[0]).toMatchObject({ serverType: 'demo', failures: 2, pauseSeconds: 30 });
  const status = await runCli(world.world.cliEnv, 'status');
  expect(status.stdout).toMatch(/^demo \(local, config v2\): 0 of 1 provisioned .*; creates paused until \S+ after 2 failed in a row$/m);

  await new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000 - (Date.now() - startedAt)));
  const creates = createsInCloud();
  const rows = await world.records.servers({ serverType: 'demo' });
  const bound = maxCreates(WINDOW_SECONDS);
  // The first failure is replaced at once: the time between the first two servers is one create-hang-replace cycle.
  const cycleSeconds = (rows[1]!.createdAt.getTime() - rows[0]!.createdAt.getTime()) / 1000;
  process.stdout.write(
    `back-off: ${creates} creates reached the cloud (${rows.length} server rows) in ${WINDOW_SECONDS} s of servers that always hang with a 1 s boot timeout; ` +
      `the schedule allows at most ${bound} (pauses of ${pauses.map((pause) => `${pause.pauseSeconds} s`).join(', ')}); ` +
      `one create-hang-replace cycle took ${cycleSeconds.toFixed(1)} s here, so without the back-off about ${Math.floor(WINDOW_SECONDS / cycleSeconds)} creates\n`,
  );
  expect(creates).toBeLessThanOrEqual(bound);
  // It did try again: the first failure is replaced at once.
  expect(creates).toBeGreaterThanOrEqual(2);
  expect(pauses.map((pause) => pause.failures)).toEqual(pauses.map((_, index) => index + 2));

  // The fix: a template that boots, published while creates are paused.
  await until(async () => ((await world.records.desiredState('demo')).createsPausedUntil?.getTime() ?? 0) > Date.now() + 10_000, 'creates to be paused');
  const pausedUntil = (await world.records.desiredState('demo')).createsPausedUntil!;
  const fixedAt = Date.now();
  await publishSnapshot(world, 'base-snapshot');
  expect(await world.records.desiredState('demo')).toMatchObject({ createFailures: 0, createsPausedUntil: null });
  await waitForStatus(world.records, 'demo', 'running', 1);
  const [running] = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect(running!.template).toMatchObject({ snapshot: 'base-snapshot' });
  // Created while the old pause was still in force: the publication, not the pause running out, ended the back-off.
  expect(running!.createdAt.getTime()).toBeLessThan(pausedUntil.getTime());
  expect(await world.records.desiredState('demo')).toMatchObject({ desiredCount: 1, createFailures: 0, createsPausedUntil: null });
  process.stdout.write(`back-off: after the fixed template was published, a server ran ${Date.now() - fixedAt} ms later (the pause would have lasted until ${Math.round((pausedUntil.getTime() - fixedAt) / 1000)} s after the fix)\n`);
});
