// `dynamic-servers preview` and `pulumi preview --stack` plan the same changes and change nothing; a provider
// token set as a secret appears in plain text nowhere the project writes.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { parsePreviewJson } from '../../src/engine/pulumi-adapter.ts';
import { stackEnvironment } from '../../src/engine/type-stack.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { tableChecksums } from '../support/db-checksums.ts';
import { scanForSecret } from '../support/secrets-scan.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

const TOKEN = randomBytes(32).toString('hex');
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');
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

async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

async function stateDigest(): Promise<string> {
  const hash = createHash('sha256');
  const state = join(world.dataDir, 'state');
  for (const file of (await filesUnder(state)).sort()) {
    if (file.includes(`${join('.pulumi', 'history')}`) || file.includes('.pulumi/locks')) continue;
    hash.update(file).update(await readFile(file));
  }
  return hash.digest('hex');
}

async function bothPreviews() {
  const ours = await runCommand(process.execPath, [CLI, 'preview', 'demo', '--json'], { env: world.cliEnv });
  logs.push(ours.stdout, ours.stderr);
  expect(ours.code).toBe(0);
  const pulumi = await runCommand(join(world.settings.engine.binDir, 'pulumi'), ['preview', '--stack', 'demo', '--json', '--non-interactive'], {
    cwd: world.projectDir,
    env: { ...world.cliEnv, ...stackEnvironment(world.settings) },
  });
  logs.push(pulumi.stdout, pulumi.stderr);
  expect(pulumi.code).toBe(0);
  const plan = parsePreviewJson(pulumi.stdout);
  const names = (op: string) => plan.steps.filter((step) => step.op === op && step.type !== 'pulumi:pulumi:Stack').map((step) => step.urn.split('::').pop()).sort();
  return { ours: JSON.parse(ours.stdout) as { creates: string[]; deletes: string[] }, cli: { creates: names('create'), deletes: names('delete') } };
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
