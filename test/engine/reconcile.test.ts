// ensure() through the real engine on the local cloud: servers appear and disappear in the cloud, rows follow.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

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
    expect(history).toEqual(['new', 'starting', 'running', 'stopping', 'deleting', 'deleted']);
  }
});

test('a reconcile with the desired version applied runs no Pulumi update', async () => {
  const report = await world.engine.reconcile('demo');
  expect(report.updates).toBe(0);
});
