// The engine's own crash recovery with a create that is not idempotent (the local provider's `adoptOnCreate: false`,
// on a cloud whose names may repeat: a retried create makes a second server, as the native plugins' does): a
// server a dead update created for a row the stack does not hold is adopted instead of created again; a server that
// neither a record nor the stack holds is deleted by cloud id, even when it carries a record's labels; a server of
// another installation with the same type, server id and name is never read, adopted or deleted.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { serverLabels, type Labels } from '../../providers/contract.ts';
import { localCloudClient, localCreateSpec } from '../../providers/local/index.ts';
import { duplicateServers } from '../../src/local-cloud/inspection.ts';
import type { ServerRecord } from '../../src/records/records.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

const ENGINE_TOKEN = 'token-of-the-engine';
const TEST_TOKEN = 'token-of-this-test';
let world: EngineWorld;
/** The test's own client of the cloud: its requests carry the `test` token, the engine's the `default` one. */
let client: ReturnType<typeof localCloudClient>;

beforeAll(async () => {
  world = await startEngineWorld({
    token: ENGINE_TOKEN,
    cloud: { tokens: { test: TEST_TOKEN }, uniqueNames: false, delays: { initializing: 50, starting: 50, stopping: 50, rebooting: 50, deleting: 50 } },
    stackConfig: { 'local:adoptOnCreate': false },
  });
  client = localCloudClient({ endpoint: world.cloud.url, token: TEST_TOKEN });
});

afterAll(async () => {
  await world?.close();
});

const installation = () => world.records.installationId;
const labelsOf = (row: ServerRecord, owner = installation()): Labels => serverLabels({ installation: owner, serverType: 'demo', serverId: row.name });
const live = () => world.cloud.inspect().servers.filter((server) => server.status !== 'deleting');
const enginePosts = () => world.cloud.requests().filter((request) => request.token === 'default' && request.method === 'POST' && request.path === '/v1/servers');

async function newRow(): Promise<ServerRecord> {
  const { createdServerIds } = await world.records.increase('demo');
  return world.records.server(createdServerIds[0]!);
}

test('the create is not idempotent: a lost create answer makes a second server, and the sweep deletes the one nobody holds', async () => {
  world.cloud.loseNextResponses(1);
  const row = await newRow();
  const report = await world.engine.reconcile('demo');
  process.stdout.write(`lost create answer: ${JSON.stringify({ recovery: report.recovery, leaksDeleted: report.leaksDeleted })}\n`);

  // Two creates reached the cloud for one row: the retry did not look for the first server.
  expect(enginePosts()).toHaveLength(2);
  const recorded = await world.records.server(row.id);
  expect(report.leaksDeleted).toHaveLength(1);
  expect(report.leaksDeleted[0]!.name).toBe(row.name);
  expect(report.leaksDeleted[0]!.providerId).not.toBe(recorded.providerId);
  await world.engine.converge('demo');
  expect(live().map((server) => String(server.id))).toEqual([recorded.providerId]);
  expect([...duplicateServers(world.cloud.inspect().servers).keys()]).toEqual([]);
});

test('a server a dead update created for a row the stack does not hold is adopted, not created again', async () => {
  const row = await newRow();
  // What an update killed between the cloud's answer and the state's write leaves: the server, labelled, untracked.
  const left = await client.createServer(localCreateSpec(row.name, labelsOf(row), { snapshot: 'base-snapshot', size: 'small' }));
  const postsBefore = enginePosts().length;

  const report = await world.engine.reconcile('demo');
  process.stdout.write(`dead update's server: ${JSON.stringify({ recovery: report.recovery, leaksDeleted: report.leaksDeleted })}\n`);

  expect(report.recovery.adopted).toEqual([{ name: row.name, providerId: left.providerId }]);
  expect(report.leaksDeleted).toEqual([]);
  expect(enginePosts()).toHaveLength(postsBefore);
  expect(await world.records.server(row.id)).toMatchObject({ status: 'starting', providerId: left.providerId });
  await world.engine.converge('demo');
  expect(await world.records.server(row.id)).toMatchObject({ status: 'running', providerId: left.providerId });
  expect(live()).toHaveLength(2);
});

test('a duplicate carrying a record’s labels is deleted by cloud id; another installation’s server of the same type, id and name is never touched', async () => {
  const [row] = await world.records.servers({ serverType: 'demo', status: 'running' });
  const spec = { snapshot: 'base-snapshot', size: 'small' };
  const duplicate = await client.createServer(localCreateSpec(row!.name, labelsOf(row!), spec), { adoptExisting: false });
  const foreign = await client.createServer(localCreateSpec(row!.name, labelsOf(row!, '0ther1n5'), spec), { adoptExisting: false });
  expect(duplicate.providerId).not.toBe(row!.providerId);

  await newRow();
  const report = await world.engine.reconcile('demo');
  process.stdout.write(`copied labels: ${JSON.stringify({ recovery: report.recovery, leaksDeleted: report.leaksDeleted })}\n`);
  await world.engine.converge('demo');

  expect(report.leaksDeleted).toEqual([{ name: row!.name, providerId: duplicate.providerId }]);
  expect(report.recovery.adopted).toEqual([]);
  const rows = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect(rows).toHaveLength(3);
  expect(live().map((server) => String(server.id)).sort()).toEqual([...rows.map((record) => record.providerId!), foreign.providerId].sort());
  // The engine's requests never named or listed the other installation's server.
  const touchedForeign = world.cloud.requests().filter((request) => request.token === 'default' && request.servers.some((server) => String(server.id) === foreign.providerId));
  expect(touchedForeign).toEqual([]);
  expect(world.cloud.inspect().servers.find((server) => String(server.id) === foreign.providerId)).toMatchObject({ status: 'running', labels: { installation: '0ther1n5' } });
});
