// ensure() through the real engine on the local cloud: servers appear and disappear in the cloud, rows follow.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publishProject } from '../../src/runtime.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');

let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } } });
});

afterAll(async () => {
  await world?.close();
});

function liveCloudServers() {
  return world.cloud.inspect().servers.filter((server) => server.status !== 'deleting');
}

test('ensure 3 gives three running servers with provider ids; ensure 1 deletes the other two', async () => {
  await world.records.ensure('demo', 3);
  await world.engine.converge('demo');
  const running = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect(running).toHaveLength(3);
  expect(liveCloudServers().map((server) => server.status)).toEqual(['running', 'running', 'running']);
  expect(running.map((row) => row.providerId).sort()).toEqual(liveCloudServers().map((server) => String(server.id)).sort());
  expect(running.map((row) => row.name).sort()).toEqual(liveCloudServers().map((server) => server.name).sort());

  await world.records.ensure('demo', 1);
  await world.engine.converge('demo');
  const remaining = await world.records.servers({ serverType: 'demo', status: 'running' });
  const deleted = await world.records.servers({ serverType: 'demo', status: 'deleted' });
  expect(remaining).toHaveLength(1);
  expect(deleted).toHaveLength(2);
  expect(world.cloud.inspect().servers.map((server) => server.id)).toEqual([Number(remaining[0]!.providerId)]);
  for (const row of deleted) {
    const history = (await world.records.statusHistory(row.id)).map((change) => change.to);
    expect(history).toEqual(['new', 'starting', 'running', 'draining', 'stopping', 'deleting', 'deleted']);
  }
});

test('a reconcile with the desired version applied runs no Pulumi update', async () => {
  const report = await world.engine.reconcile('demo');
  expect(report.updates).toBe(0);
});

test('a changed and published template only applies to new servers: existing servers keep the template they were created from', async () => {
  const before = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect(before).toHaveLength(1);
  const file = join(world.projectDir, 'stacks', 'Pulumi.demo.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace('size: small', 'size: large'));
  expect((await publishProject(world.records, world.projectDir)).published).toEqual([{ serverType: 'demo', version: 2, contentHash: expect.any(String) }]);
  await world.records.ensure('demo', 2);
  const plan = await world.engine.preview('demo');
  expect(plan).toMatchObject({ creates: [expect.any(String)], deletes: [], updates: [] });
  await world.engine.converge('demo');
  const rows = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect(rows.map((row) => [row.name, row.template.size])).toEqual([
    [before[0]!.name, 'small'],
    [plan.creates[0], 'large'],
  ]);
});

test('a server whose create fails is errored with the provider error and replaced; the others of the same up still start', async () => {
  // Nothing left pending by the tests before, so the failed create is one of this test's servers.
  await world.engine.converge('demo');
  world.cloud.failNext({ count: 1, status: 403, code: 'resource_limit_exceeded', match: { method: 'POST', pathPrefix: '/servers' } });
  const before = new Set((await world.records.servers({ serverType: 'demo' })).map((row) => row.id));
  await world.records.increase('demo', 2);
  // In a process of its own, which installs no handler of its own for unhandled rejections: one failed create
  // must end neither the update nor the process.
  const reconcile = await runCommand(process.execPath, [CLI, 'reconcile', 'demo', '--wait'], { env: world.cliEnv });
  expect({ code: reconcile.code, unhandled: /failed to register/.test(reconcile.stderr) }).toEqual({ code: 0, unhandled: false });
  const added = (await world.records.servers({ serverType: 'demo' })).filter((row) => !before.has(row.id));
  // The errored one no longer counts; its replacement (created with the error) runs.
  expect(added.map((row) => row.status).sort()).toEqual(['errored', 'running', 'running']);
  expect(await world.records.provisionedCount('demo')).toBe((await world.records.desiredState('demo')).desiredCount);
  expect(added.find((row) => row.status === 'errored')?.lastError).toMatchObject({ class: 'QuotaExceededError', message: expect.stringContaining('resource_limit_exceeded') });
});
