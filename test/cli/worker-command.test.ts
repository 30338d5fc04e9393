// `worker` refuses bad settings (intervals, HTTP address, port and token) before it touches the job store: one line
// on stderr, exit 2, no stack trace.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pg from 'pg';
import { JOB_TABLE } from '../../src/jobs/job-store.ts';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld();
});

afterAll(async () => {
  await world?.close();
});

/** Whether the job store's table exists: a worker that reached the job store would have created it. */
async function jobTableExists(): Promise<boolean> {
  const client = new pg.Client({ connectionString: world.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ found: boolean }>('select to_regclass($1) is not null as found', [JOB_TABLE]);
    return rows[0]!.found;
  } finally {
    await client.end();
  }
}

test.each([
  [['--monitor-interval', '-1'], 'dynamic-servers: --monitor-interval must be a positive number, got "-1"\n'],
  [['--housekeeping-interval', 'soon'], 'dynamic-servers: --housekeeping-interval must be a positive number, got "soon"\n'],
  [['--http-port', '70000'], 'dynamic-servers: --http-port must be a whole number from 0 to 65535, got "70000"\n'],
  [['--http-port', 'any'], 'dynamic-servers: --http-port must be a whole number from 0 to 65535, got "any"\n'],
  [['--http-host', 'example.com'], 'dynamic-servers: --http-host must be an IP address or localhost, got "example.com"\n'],
  [['--http-host', '0.0.0.0'], 'dynamic-servers: listening on 0.0.0.0 (not this machine only) needs a token: set DYNAMIC_SERVERS_HTTP_TOKEN (or --http-token)\n'],
  [['--http-host', '0.0.0.0', '--http-token', 'short'], 'dynamic-servers: the HTTP token must have at least 16 characters\n'],
])('worker %j exits 2 with one line and starts nothing', async (args, message) => {
  const before = await world.records.servers();
  const result = await runCli(world.cliEnv, 'worker', ...args);
  expect(result.code).toBe(2);
  expect(result.stderr).toBe(message);
  expect(result.stdout).toBe('');
  expect(await world.records.servers()).toEqual(before);
  expect(await jobTableExists()).toBe(false);
});
