// Rollouts through the real engine and jobs on the local cloud. A new template published for a type under
// `rollout: replace` (maxSurge 1, maxUnavailable 0) replaces its four servers one at a time: sampled every 100 ms,
// the cloud never has fewer than four running nor more than five servers, and every old server is drained before it
// is deleted. A template whose servers never boot halts the rollout after its first replacement hangs: the old
// servers keep running, `dynamic-servers rollout` says why, `rolloutHalted` fires; a fixed template and `--resume`
// complete it.
import { afterEach, expect, test } from '@jest/globals';
import type { RolloutHalt, RolloutStatus } from '../../src/api.ts';
import type { ServerRecord } from '../../src/records/records.ts';
import { runCli } from '../support/cli.ts';
import { publishSnapshot, startJobWorld, until, waitForStatus, type JobWorld } from './support/job-world.ts';

const FAST = { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 };
const REPLACE_ONE_AT_A_TIME = { 'dynamic-servers:rollout': '{ maxSurge: 1, maxUnavailable: 0 }' };
let jobs: JobWorld | undefined;

afterEach(async () => {
  await jobs?.close();
  jobs = undefined;
});

/** What the sampler saw: the fewest servers running (in the cloud, and in the rows) and the most in the cloud. */
interface Sampled {
  samples: number;
  minRunningInCloud: number;
  minRunningRows: number;
  maxInCloud: number;
}

/** Samples the cloud and the rows every 100 ms until `stop()`, which resolves with what it saw. */
function sample(world: JobWorld): { stop(): Promise<Sampled> } {
  const seen: Sampled = { samples: 0, minRunningInCloud: Infinity, minRunningRows: Infinity, maxInCloud: 0 };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const servers = world.world.cloud.inspect().servers;
      const rows = await world.records.servers({ serverType: 'demo', status: 'running' });
      seen.samples += 1;
      seen.minRunningInCloud = Math.min(seen.minRunningInCloud, servers.filter((server) => server.status === 'running').length);
      seen.maxInCloud = Math.max(seen.maxInCloud, servers.length);
      seen.minRunningRows = Math.min(seen.minRunningRows, rows.length);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return seen;
    },
  };
}

/** The servers of `demo` that are not deleted. */
function liveRows(world: JobWorld): Promise<ServerRecord[]> {
  return world.records.servers({ serverType: 'demo', status: ['new', 'starting', 'running', 'rebooting', 'draining', 'stopping', 'stopped', 'deleting', 'errored', 'hanging'] });
}

/** True once `demo` has exactly `count` servers, all running and made from `snapshot`, and the cloud has exactly those. */
async function allRunningOn(world: JobWorld, snapshot: string, count: number): Promise<boolean> {
  const live = await liveRows(world);
  const cloudIds = world.world.cloud.inspect().servers.map((server) => String(server.id)).sort();
  return (
    live.length === count &&
    live.every((row) => row.status === 'running' && row.template.snapshot === snapshot) &&
    JSON.stringify(cloudIds) === JSON.stringify(live.map((row) => row.providerId).sort())
  );
}

/** `dynamic-servers rollout demo --json`, parsed. */
async function rolloutStatus(world: JobWorld): Promise<RolloutStatus> {
  const shown = await runCli(world.world.cliEnv, 'rollout', 'demo', '--json');
  expect(shown.code).toBe(0);
  return JSON.parse(shown.stdout) as RolloutStatus;
}

test('4 running on template A, template B published (maxSurge 1, maxUnavailable 0): never fewer than 4 running, never more than 5 in the cloud; ends with 4 on B, each old server drained before it was deleted', async () => {
  jobs = await startJobWorld({ cloud: { delays: FAST, snapshots: ['base-snapshot', 'next-snapshot'] }, stackConfig: REPLACE_ONE_AT_A_TIME });
  const world = jobs;
  await world.records.ensure('demo', 4);
  await waitForStatus(world.records, 'demo', 'running', 4);
  const old = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect(old.every((row) => row.template.snapshot === 'base-snapshot')).toBe(true);

  const sampler = sample(world);
  const startedAt = Date.now();
  await publishSnapshot(world, 'next-snapshot');
  await until(() => allRunningOn(world, 'next-snapshot', 4), '4 servers running on next-snapshot and nothing else');
  const seconds = (Date.now() - startedAt) / 1000;
  const seen = await sampler.stop();
  process.stdout.write(
    `rollout of 4 servers (maxSurge 1, maxUnavailable 0): ${seconds.toFixed(1)} s; ${seen.samples} samples every 100 ms: ` +
      `running in the cloud min ${seen.minRunningInCloud}, running rows min ${seen.minRunningRows}, servers in the cloud max ${seen.maxInCloud}\n`,
  );
  expect(seen.samples).toBeGreaterThan(10);
  expect(seen.minRunningInCloud).toBeGreaterThanOrEqual(4);
  expect(seen.minRunningRows).toBeGreaterThanOrEqual(4);
  expect(seen.maxInCloud).toBeLessThanOrEqual(5);

  // Each old server was replaced by exactly one new one, and drained before it was deleted.
  const replacements = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect(replacements.map((row) => row.replacesServerId).sort()).toEqual(old.map((row) => row.id).sort());
  for (const row of old) {
    const history = await world.records.statusHistory(row.id);
    expect(history.map((change) => change.to)).toEqual(['new', 'starting', 'running', 'draining', 'stopping', 'deleting', 'deleted']);
    const replacement = replacements.find((candidate) => candidate.replacesServerId === row.id)!;
    expect(history.find((change) => change.to === 'draining')?.reason).toBe(`rollout: replaced by ${replacement.name}, which runs`);
  }
  expect(await rolloutStatus(world)).toMatchObject({ state: 'done', old: 0, new: 4, replacing: 0, draining: 0, halted: null, budget: { maxSurge: 1, maxUnavailable: 0 } });
  expect(await world.records.desiredState('demo')).toMatchObject({ desiredCount: 4 });
});

test('a rollout to a template whose servers never boot halts after the first hang: the old 4 keep running, the status says why, an event fired; a fixed template and --resume complete it', async () => {
  jobs = await startJobWorld({
    cloud: { delays: FAST, snapshots: ['base-snapshot', 'broken-snapshot', 'fixed-snapshot'], faults: { brokenSnapshots: ['broken-snapshot'] } },
    timeouts: { bootSeconds: 3 },
    stackConfig: REPLACE_ONE_AT_A_TIME,
  });
  const world = jobs;
  await world.records.ensure('demo', 4);
  await waitForStatus(world.records, 'demo', 'running', 4);
  const old = (await world.records.servers({ serverType: 'demo', status: 'running' })).map((row) => row.id);
  const halts: RolloutHalt[] = [];
  world.records.on('rolloutHalted', (halt) => halts.push(halt));

  await publishSnapshot(world, 'broken-snapshot');
  await until(async () => halts.length > 0, 'the rolloutHalted event');
  const onBroken = async () => (await world.records.servers({ serverType: 'demo' })).filter((row) => row.template.snapshot === 'broken-snapshot');
  const [hung] = await onBroken();
  // The hung replacement goes the way of any hung server under the default policy: drained, then deleted.
  await until(async () => (await world.records.server(hung!.id)).status === 'deleted', 'the hung replacement to be deleted');
  // Housekeeping runs every second here: a few runs that would start another replacement if the halt did not hold.
  await new Promise((resolve) => setTimeout(resolve, 5000));

  expect(halts).toEqual([{ serverType: 'demo', serverName: hung!.name, reason: `${hung!.name} went hanging while starting: still starting after the 3 s timeout`, at: expect.any(Date) }]);
  expect((await onBroken()).map((row) => row.id)).toEqual([hung!.id]);
  expect((await world.records.statusHistory(hung!.id)).map((change) => change.to)).toEqual(['new', 'starting', 'hanging', 'draining', 'stopping', 'deleting', 'deleted']);
  expect((await world.records.servers({ serverType: 'demo', status: 'running' })).map((row) => row.id)).toEqual(old);
  expect(world.world.cloud.inspect().servers).toHaveLength(4);
  const halted = await rolloutStatus(world);
  expect(halted).toMatchObject({ state: 'halted', old: 4, new: 0, replacing: 0, halted: { serverName: hung!.name, reason: halts[0]!.reason } });
  const text = await runCli(world.world.cliEnv, 'rollout', 'demo');
  expect(text.stdout).toContain(`rollout halted`);
  expect(text.stdout).toContain(`: ${halts[0]!.reason}\n`);
  process.stdout.write(`halted rollout, as \`dynamic-servers rollout demo\` shows it:\n${text.stdout}`);

  await publishSnapshot(world, 'fixed-snapshot');
  const resumed = await runCli(world.world.cliEnv, 'rollout', 'demo', '--resume', '--json');
  expect(resumed.code).toBe(0);
  expect(JSON.parse(resumed.stdout)).toMatchObject({ state: 'rolling', halted: null, paused: false });
  await until(() => allRunningOn(world, 'fixed-snapshot', 4), '4 servers running on fixed-snapshot and nothing else');
  expect(await rolloutStatus(world)).toMatchObject({ state: 'done', old: 0, new: 4 });
  expect(halts).toHaveLength(1);
});
