// The engine suite's scenario on the MongoDB job store: Agenda's MongoDB backend against FerretDB (built from the
// Go module proxy into the cache on first use), the records and the engine on PostgreSQL as always.
import { afterAll, beforeAll, test } from '@jest/globals';
import { join } from 'node:path';
import { installFerretDb, startFerretDb, type FerretDbServer } from '../support/toolchain/ferretdb.ts';
import { ensureThreeThenOne } from './support/engine-scenario.ts';
import { startJobWorld, type JobWorld } from './support/job-world.ts';
import { tempDir } from '../support/temp-dir.ts';

let ferret: FerretDbServer | undefined;
let jobs: JobWorld | undefined;
let work: Awaited<ReturnType<typeof tempDir>> | undefined;

beforeAll(async () => {
  const binary = await installFerretDb({ log: (line) => process.stderr.write(`ferretdb: ${line}\n`) });
  work = await tempDir('ferretdb');
  ferret = await startFerretDb(binary, join(work.path, 'data'));
  jobs = await startJobWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } }, jobStoreUrl: ferret.url });
}, 900_000);

afterAll(async () => {
  await jobs?.close();
  await ferret?.stop();
  await work?.remove();
});

test('ensure 3 gives three running servers through jobs on MongoDB (FerretDB); ensure 1 deletes the other two', async () => {
  await ensureThreeThenOne(jobs!);
});
