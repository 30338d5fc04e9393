// Before a rollout step, `dynamic-servers preview <type>` and `pulumi preview --stack <type>` list the same planned
// creates (the replacements the step will create, named as they will be) and deletes (a drained server waiting for
// its delete), change nothing, and the reconcile that follows creates and deletes exactly those.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { publishProject } from '../../src/runtime.ts';
import { runCli } from '../support/cli.ts';
import { tableChecksums } from '../support/db-checksums.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';
import { bothPreviews, stateDigest } from '../support/previews.ts';

let world: EngineWorld;
let db: pg.Client;

beforeAll(async () => {
  world = await startEngineWorld({
    cloud: { delays: { initializing: 50, starting: 50, stopping: 50, rebooting: 50, deleting: 50 }, snapshots: ['base-snapshot', 'next-snapshot'] },
    stackConfig: { 'dynamic-servers:rollout': '{ maxSurge: 2, maxUnavailable: 0 }' },
  });
  db = new pg.Client({ connectionString: world.database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await world?.close();
});

test('both previews list the replacement the next rollout step creates and the drained server it deletes; the reconcile then does exactly that', async () => {
  await world.records.ensure('demo', 3);
  await world.engine.converge('demo');
  // One fewer: the newest server is drained (at once: no hook) and waits for the next update to delete it.
  const [drained] = (await world.records.decrease('demo', 1)).stoppingServerIds;
  const stopping = await world.records.server(drained!);
  expect(stopping.status).toBe('stopping');
  const stackFile = join(world.projectDir, 'stacks', 'Pulumi.demo.yaml');
  await writeFile(stackFile, (await readFile(stackFile, 'utf8')).replace('snapshot: base-snapshot', 'snapshot: next-snapshot'));
  await publishProject(world.records, world.projectDir);
  const [oldest] = await world.records.servers({ serverType: 'demo', status: 'running' });

  const before = { db: await tableChecksums(db), state: await stateDigest(world), cloud: world.cloud.inspect().servers };
  const previews = await bothPreviews(world);
  // 2 desired + maxSurge 2 = 4 in the cloud at most; 3 are there (one of them leaving): room for one replacement.
  expect(previews.ours.replacements).toEqual([{ create: expect.any(String), replaces: oldest!.name }]);
  const planned = previews.ours.replacements[0]!.create;
  expect(previews.ours).toMatchObject({ creates: [planned], deletes: [stopping.name], updates: [] });
  expect(previews.cli).toEqual({ creates: [planned], deletes: [stopping.name] });
  expect({ db: await tableChecksums(db), state: await stateDigest(world), cloud: world.cloud.inspect().servers }).toEqual(before);
  const text = await runCli(world.cliEnv, 'preview', 'demo');
  expect(text.stdout).toBe(`+ create ${planned} (rollout: replaces ${oldest!.name})\n- delete ${stopping.name}\n1 to create, 1 to delete, 0 to update\n`);
  process.stdout.write(`preview before the rollout step: ${text.stdout}`);

  const report = await world.engine.reconcile('demo');
  const created = await world.records.server(report.rollout!.replacements[0]!.serverId);
  expect({ created: created.name, replaces: created.replacesServerId, starting: report.starting, deleting: report.deleting }).toEqual({
    created: planned,
    replaces: oldest!.id,
    starting: [planned],
    deleting: [stopping.name],
  });
  expect(created.template).toMatchObject({ snapshot: 'next-snapshot' });
});
