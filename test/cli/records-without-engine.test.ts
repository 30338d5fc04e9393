// Reading and changing the records needs only the database: `list`, `status`, `types` and `ensure` run where no
// Pulumi CLI exists (an empty engine cache, no `pulumi` on PATH), while `preview` there says the engine is missing.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { delimiter } from 'node:path';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { startRecordsDatabase, type RecordsDatabase } from '../records/support/records-database.ts';
import { runCli } from '../support/cli.ts';
import { publishTypes } from '../support/published-types.ts';
import { tempDir } from '../support/temp-dir.ts';

let database: RecordsDatabase;
let emptyCache: Awaited<ReturnType<typeof tempDir>>;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  database = await startRecordsDatabase('cli_without_engine');
  await publishTypes(database.url, { worker: { provider: 'local', maximum: 5 } });
  const records = await EngineRecords.openForEngine({ databaseUrl: database.url });
  try {
    const { createdServerIds } = await records.ensure('worker', 2);
    await records.recordTransition(createdServerIds[0]!, 'starting', { reason: 'created', providerId: 'cloud-7' });
  } finally {
    await records.close();
  }
  emptyCache = await tempDir('no-engine');
  const path = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.includes('dynamic-servers') && !entry.includes('pulumi'));
  env = { PATH: path.join(delimiter), HOME: emptyCache.path, DATABASE_URL: database.url, DYNAMIC_SERVERS_CACHE: emptyCache.path };
});

afterAll(async () => {
  await emptyCache?.remove();
  await database?.stop();
});

test('list, status, types and ensure work with no Pulumi CLI anywhere; preview says what is missing', async () => {
  const timings: string[] = [];
  const timed = async (...args: string[]) => {
    const started = Date.now();
    const result = await runCli(env, ...args);
    timings.push(`${args.join(' ')} ${((Date.now() - started) / 1000).toFixed(2)} s`);
    return result;
  };
  const list = await timed('list');
  expect(list).toMatchObject({ code: EXIT.ok, stderr: '' });
  expect(list.stdout).toMatch(/worker-1-[0-9a-f]{8}\s+worker\s+local\s+starting\s+cloud-7/);
  const status = await timed('status', '--json');
  expect(status.code).toBe(EXIT.ok);
  expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ serverType: 'worker', provisioned: 2, configVersion: 1 })]);
  expect((await timed('types')).code).toBe(EXIT.ok);
  const ensure = await timed('ensure', 'worker', '3');
  expect(ensure.code).toBe(EXIT.ok);
  expect(JSON.parse(ensure.stdout)).toMatchObject({ before: 2, after: 3 });
  process.stdout.write(`without a Pulumi CLI: ${timings.join('; ')}\n`);

  const preview = await runCli({ ...env, DYNAMIC_SERVERS_PROJECT_DIR: emptyCache.path }, 'preview', 'worker');
  expect(preview.code).toBe(EXIT.unavailable);
  expect(preview.stderr).toMatch(/Pulumi CLI/);
});
