// One server whose declaration throws in the Pulumi program (its stored template is one the provider refuses) no
// longer fails the whole `pulumi up`: that server is recorded errored with the provider's message, the other servers
// of the same update are created and run, and a replacement from the published template makes up the count.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pg from 'pg';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } } });
});

afterAll(async () => {
  await world?.close();
});

/** The default name of server `id`: it carries the installation id. */
function nameOf(id: number): string {
  return `demo-${id}-${world.records.installationId}`;
}

/** Sets the template stored on server `id`, as a row written from an older publication could hold it. */
async function storeTemplate(id: number, template: object): Promise<void> {
  const client = new pg.Client({ connectionString: world.database.url });
  await client.connect();
  try {
    await client.query('update "server" set "template" = $1::jsonb where "id" = $2', [JSON.stringify(template), id]);
  } finally {
    await client.end();
  }
}

test('the row whose declaration throws ends errored with the message; the other servers of the same update run', async () => {
  const { createdServerIds } = await world.records.ensure('demo', 3);
  const [, broken] = createdServerIds as [number, number, number];
  await storeTemplate(broken, { snapshot: 'base-snapshot' }); // no size: the local provider refuses it

  const report = await world.engine.reconcile('demo');
  expect(report.undeclared).toEqual([{ name: nameOf(2), errorClass: 'InvalidRequestError', message: expect.stringContaining('size') }]);
  expect(report.failed).toEqual([]);
  // demo-4 is the replacement of demo-2, created by the second update of the same reconcile.
  expect(report.starting.sort()).toEqual([nameOf(1), nameOf(3), nameOf(4)]);
  expect(report.updates).toBe(2);

  await world.engine.converge('demo', { pollMs: 100 });
  const errored = await world.records.server(broken);
  expect(errored).toMatchObject({ status: 'errored', providerId: null, lastError: { class: 'InvalidRequestError', message: expect.stringMatching(/invalid local cloud snapshot template.*size/s) } });
  expect((await world.records.statusHistory(broken)).map((change) => `${change.to}: ${change.reason}`)).toEqual([
    'new: ensure(demo, 3)',
    'errored: the Pulumi program could not declare it',
  ]);
  const running = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect(running.map((row) => row.name)).toEqual([nameOf(1), nameOf(3), nameOf(4)]);
  expect(world.cloud.inspect().servers.map((server) => server.name).sort()).toEqual([nameOf(1), nameOf(3), nameOf(4)]);
  expect(await world.records.provisionedCount('demo')).toBe(3);
});

// In a process of its own: a program that throws leaves a rejected promise behind, which would fail this Jest process.
test('a server the cloud already has cannot be left out (the update would delete it): its declaration error fails the update, and nothing is deleted', async () => {
  const [running] = await world.records.servers({ serverType: 'demo', status: 'running' });
  await storeTemplate(running!.id, { snapshot: 'base-snapshot' });
  await world.records.increase('demo', 1);
  const reconcile = await runCli(world.cliEnv, 'reconcile', 'demo');
  expect(reconcile.code).toBe(1);
  expect(reconcile.stderr).toMatch(/pulumi up of stack demo failed/);
  expect(world.cloud.inspect().servers.map((server) => server.name).sort()).toEqual([nameOf(1), nameOf(3), nameOf(4)]);
  expect(await world.records.server(running!.id)).toMatchObject({ status: 'running' });
});
