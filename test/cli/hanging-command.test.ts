// `hanging`: hang detection now. A server starting longer than its type's boot timeout (60 s in the stack file;
// the test moves its status change a minute back) is marked hanging and printed (and, by the default policy, goes on
// to be deleted), one starting for less is left alone; a second run finds none (exit 0); an unknown type exits 2 and changes nothing.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pg from 'pg';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld({ stackConfig: { 'dynamic-servers:bootTimeoutSeconds': 60 } });
});

/** Moves the server's last status change `seconds` into the past, as if it had been waiting that long. */
async function backdateStatus(serverId: number, seconds: number): Promise<void> {
  const client = new pg.Client({ connectionString: world.database.url });
  await client.connect();
  try {
    await client.query(`update server set status_updated_at = status_updated_at - make_interval(secs => $2) where id = $1`, [serverId, seconds]);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await world?.close();
});

test('marks the server stuck starting past its boot timeout and prints it; the fresh one is left alone', async () => {
  await world.records.ensure('demo', 2);
  const [stuck, fresh] = await world.records.servers({ serverType: 'demo' });
  await world.records.recordTransition(stuck!.id, 'starting', { reason: 'test: created', providerId: 'stuck-1' });
  await world.records.recordTransition(fresh!.id, 'starting', { reason: 'test: created', providerId: 'fresh-1' });
  await backdateStatus(stuck!.id, 61);
  const since = (await world.records.server(stuck!.id)).statusUpdatedAt;

  const result = await runCli(world.cliEnv, 'hanging', '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual([
    { id: stuck!.id, name: stuck!.name, serverType: 'demo', hungIn: 'starting', since: since.toISOString(), timeoutSeconds: 60 },
  ]);
  // Marked hanging; the default policy (hangingServers: delete) then drains it (at once: no hook) and sends it on its way out of the cloud.
  expect((await world.records.statusHistory(stuck!.id)).slice(-3).map((change) => `${change.from}>${change.to}`)).toEqual(['starting>hanging', 'hanging>draining', 'draining>stopping']);
  expect((await world.records.server(fresh!.id)).status).toBe('starting');

  const again = await runCli(world.cliEnv, 'hanging', '--type', 'demo');
  expect(again.code).toBe(0);
  expect(again.stdout).toBe('no hanging servers found\n');
});

test('an unknown --type exits 2 with one line and marks nothing', async () => {
  const before = await world.records.servers();
  const result = await runCli(world.cliEnv, 'hanging', '--type', 'nope');
  expect(result.code).toBe(2);
  expect(result.stderr).toBe('dynamic-servers: unknown server type "nope"; published server types: demo\n');
  expect(await world.records.servers()).toEqual(before);
});
