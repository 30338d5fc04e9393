// `dynamic-servers preview` and `pulumi preview --stack` plan the same changes and change nothing; a provider
// token set as a secret appears in plain text nowhere the project writes.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { tableChecksums } from '../support/db-checksums.ts';
import { scanForSecret } from '../support/secrets-scan.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';
import { bothPreviews as runBothPreviews, stateDigest as digestOf } from '../support/previews.ts';

const TOKEN = randomBytes(32).toString('hex');
let world: EngineWorld;
let db: pg.Client;
const logs: string[] = [];

beforeAll(async () => {
  world = await startEngineWorld({ token: TOKEN, cloud: { delays: { initializing: 50, starting: 50, stopping: 50, rebooting: 50, deleting: 50 } } });
  db = new pg.Client({ connectionString: world.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await world?.close();
});

async function bothPreviews() {
  const previews = await runBothPreviews(world);
  logs.push(...previews.output);
  return previews;
}

function stateDigest(): Promise<string> {
  return digestOf(world);
}

test('both previews report the same creates and deletes after each change of the count, and change nothing', async () => {
  await world.records.ensure('demo', 2);
  await world.engine.converge('demo');

  await world.records.ensure('demo', 4);
  let before = { db: await tableChecksums(db), state: await stateDigest(), cloud: world.cloud.inspect().servers };
  let previews = await bothPreviews();
  const newNames = (await world.records.servers({ serverType: 'demo', status: 'new' })).map((row) => row.name).sort();
  expect(newNames).toHaveLength(2);
  expect(previews.ours).toMatchObject({ creates: newNames, deletes: [] });
  expect(previews.cli).toEqual({ creates: newNames, deletes: [] });
  expect({ db: await tableChecksums(db), state: await stateDigest(), cloud: world.cloud.inspect().servers }).toEqual(before);

  await world.engine.converge('demo');
  await world.records.ensure('demo', 1);
  before = { db: await tableChecksums(db), state: await stateDigest(), cloud: world.cloud.inspect().servers };
  previews = await bothPreviews();
  const stopping = (await world.records.servers({ serverType: 'demo', status: 'stopping' })).map((row) => row.name).sort();
  expect(stopping).toHaveLength(3);
  expect(previews.ours).toMatchObject({ creates: [], deletes: stopping });
  expect(previews.cli).toEqual({ creates: [], deletes: stopping });
  expect({ db: await tableChecksums(db), state: await stateDigest(), cloud: world.cloud.inspect().servers }).toEqual(before);
  await world.engine.converge('demo');
  expect(world.cloud.inspect().servers).toHaveLength(1);
});

test('the provider token is in plain text in no stack file, no Pulumi state, no database row and no log', async () => {
  // The token was used: the cloud refuses requests without it, and servers were created above.
  expect(world.cloud.inspect().servers).toHaveLength(1);
  const stackFile = await readFile(join(world.projectDir, 'stacks', 'Pulumi.demo.yaml'), 'utf8');
  expect(stackFile).toMatch(/local:token:\n\s+secure: v1:/);
  const report = await scanForSecret(TOKEN, {
    files: [join(world.projectDir, 'stacks', 'Pulumi.demo.yaml')],
    dirs: [world.dataDir],
    texts: { 'command output': logs.join('\n') },
    databaseUrl: world.database.url,
  });
  expect(report.tables).toEqual(expect.arrayContaining(['server', 'server_status_change', 'desired_state']));
  expect(report.hits).toEqual([]);
});
