// The record commands: success paths whose output matches the database, and one bad input each.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');
let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld();
});

afterAll(async () => {
  await world?.close();
});

const cli = (...args: string[]) => runCommand(process.execPath, [CLI, ...args], { env: world.cliEnv });

test('ensure, increase, decrease and reboot change the desired state; list and status --json match the database', async () => {
  expect(JSON.parse((await cli('ensure', 'demo', '2')).stdout)).toMatchObject({ before: 0, after: 2 });
  expect(JSON.parse((await cli('increase', 'demo')).stdout)).toMatchObject({ before: 2, after: 3 });
  expect(JSON.parse((await cli('decrease', 'demo', '2')).stdout)).toMatchObject({ before: 3, after: 1 });
  const reboot = await cli('reboot', 'demo');
  expect(reboot.code).toBe(0);

  const listed = await cli('list', '--json');
  expect(listed.code).toBe(0);
  const rows = await world.records.servers();
  expect((JSON.parse(listed.stdout) as { id: number; name: string; status: string }[]).map(({ id, name, status }) => ({ id, name, status }))).toEqual(
    rows.map(({ id, name, status }) => ({ id, name, status })),
  );
  const filtered = JSON.parse((await cli('list', '--type', 'demo', '--status', 'stopping', '--json')).stdout) as { status: string }[];
  expect(filtered.map((row) => row.status)).toEqual(['stopping', 'stopping']);
  const table = (await cli('list')).stdout.split('\n');
  expect(table[0]).toMatch(/^ID\s+NAME\s+TYPE\s+PROVIDER\s+STATUS/);
  expect(table.filter((line) => /demo-\d+-[0-9a-f]{8}/.test(line))).toHaveLength(3);

  const status = JSON.parse((await cli('status', '--json')).stdout) as { serverType: string; provisioned: number; desiredVersion: number; counts: Record<string, number> }[];
  expect(status).toEqual([
    expect.objectContaining({
      serverType: 'demo',
      provisioned: await world.records.provisionedCount('demo'),
      desiredCount: 1,
      desiredVersion: (await world.records.desiredState('demo')).version,
      createFailures: 0,
      createsPausedUntil: null,
      counts: await world.records.countPerStatus('demo'),
    }),
  ]);
  expect((await cli('status')).stdout).toMatch(/^demo \(local, config v1\): 1 of 1 provisioned \(new 1, stopping 2\); desired version \d+, applied 0$/m);
});

test('rollout shows where the rollout stands, and --pause and --resume record it for every worker to see', async () => {
  const shown = await cli('rollout', 'demo');
  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(/^demo: rollout off; policy off\ntemplate [0-9a-f]{12}: 0 old, 1 new of 1 desired; 0 replacing, 0 draining\n$/);
  expect(JSON.parse((await cli('rollout', 'demo', '--pause', '--json')).stdout)).toMatchObject({ serverType: 'demo', state: 'off', paused: true, halted: null });
  expect((await cli('rollout', 'demo')).stdout).toContain('paused: no replacement starts until `dynamic-servers rollout demo --resume`');
  expect(JSON.parse((await cli('rollout', 'demo', '--resume', '--json')).stdout)).toMatchObject({ paused: false });
});

describe('bad input exits non-zero with a clear message and changes nothing', () => {
  test.each([
    [['rollout', 'demo', '--pause', '--resume'], 2, /^dynamic-servers: give --pause or --resume, not both$/m],
    [['rollout', 'nope', '--pause'], 2, /unknown server type.*nope/i],
    [['ensure', 'demo', '-1'], 2, /count|number/i],
    [['ensure', 'nope', '1'], 2, /unknown server type.*nope/i],
    [['increase', 'demo', 'abc'], 2, /number/i],
    [['decrease', 'demo', '1.5'], 2, /number/i],
    [['reboot', 'no/such'], 2, /lowercase letters/],
    [['list', '--status', 'bogus'], 2, /status/i],
  ])('%j', async (args, code, message) => {
    const before = await world.records.servers();
    const result = await cli(...args);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(await world.records.servers()).toEqual(before);
  });

  test('status without DATABASE_URL', async () => {
    const env = { ...world.cliEnv };
    delete env.DATABASE_URL;
    const result = await runCommand(process.execPath, [CLI, 'status'], { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/DATABASE_URL is not set/);
  });
});
