// `preview` and `reconcile`: reconcile records what its update created; an unknown type is refused by both with
// one line on stderr, exit 2, and no change to the records or the cloud.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld();
});

afterAll(async () => {
  await world?.close();
});

test('reconcile applies the desired state: the new servers get provider ids and start', async () => {
  await world.records.ensure('demo', 2);
  const result = await runCli(world.cliEnv, 'reconcile', 'demo', '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout) as { serverType: string; appliedVersion: number; starting: string[] };
  const rows = await world.records.servers({ serverType: 'demo' });
  const desired = await world.records.desiredState('demo');
  expect(report.serverType).toBe('demo');
  expect(report.appliedVersion).toBe(desired.version);
  expect(desired.appliedVersion).toBe(desired.version);
  expect([...report.starting].sort()).toEqual(rows.map((row) => row.name).sort());
  expect(rows.map((row) => row.status)).toEqual(['starting', 'starting']);
  expect(rows.every((row) => row.providerId !== null)).toBe(true);
  expect(world.cloud.inspect().servers.map((server) => String(server.id)).sort()).toEqual(rows.map((row) => row.providerId).sort());
});

test('reconcile --wait shows each server reaching running on stderr and prints the counts on stdout', async () => {
  const result = await runCli(world.cliEnv, 'reconcile', 'demo', '--wait', '--json');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual(await world.records.countPerStatus('demo'));
  expect(JSON.parse(result.stdout)).toMatchObject({ running: 2, starting: 0 });
  const progress = result.stderr.split('\n').filter((line) => / demo-\d+-[0-9a-f]{8}: starting -> running /.test(line));
  expect(progress).toHaveLength(2);
  expect(progress.every((line) => /^\d{4}-\d\d-\d\dT[\d:.]+Z /.test(line))).toBe(true);
});

describe('an unknown server type exits 2 with one line and changes nothing', () => {
  test.each([['preview'], ['reconcile']])('%s nope', async (command) => {
    const before = await world.records.servers();
    const desired = await world.records.desiredState('demo');
    const result = await runCli(world.cliEnv, command, 'nope');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('dynamic-servers: unknown server type "nope"; published server types: demo\n');
    expect(result.stdout).toBe('');
    expect(await world.records.servers()).toEqual(before);
    expect(await world.records.desiredState('demo')).toEqual(desired);
  });
});
