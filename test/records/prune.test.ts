// pruneFinished removes only the records of servers deleted or errored before the cutoff, with their history.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { InvalidInputError } from '../../src/api.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { publishTypes } from '../support/published-types.ts';
import { startRecordsDatabase, type RecordsDatabase } from './support/records-database.ts';

let database: RecordsDatabase;
let records: EngineRecords;

beforeAll(async () => {
  database = await startRecordsDatabase('records_prune');
  await publishTypes(database.url, { default: { provider: 'local' } });
  records = await EngineRecords.openForEngine({ databaseUrl: database.url });
});

afterAll(async () => {
  await records?.close();
  await database?.stop();
});

test('removes deleted and errored records older than the cutoff with their history, and nothing else', async () => {
  const { createdServerIds } = await records.ensure('default', 4);
  const [oldErrored, recentErrored, oldDeleted, alive] = createdServerIds as [number, number, number, number];
  await records.recordTransition(oldErrored, 'errored', { reason: 'test' });
  await records.recordTransition(recentErrored, 'errored', { reason: 'test' });
  await records.recordTransition(oldDeleted, 'stopping', { reason: 'test' });
  await records.recordTransition(oldDeleted, 'deleting', { reason: 'test' });
  await records.recordTransition(oldDeleted, 'deleted', { reason: 'test' });
  await database.rows(`update "server" set "status_updated_at" = now() - interval '31 days' where "id" in ($1, $2, $3)`, [oldErrored, oldDeleted, alive]);

  expect(await records.pruneFinished(30)).toBe(2);

  expect((await records.servers()).map((server) => server.id)).toEqual([recentErrored, alive]);
  const history = await database.rows<{ server_id: string }>('select distinct "server_id" from "server_status_change" order by 1');
  expect(history.map((row) => Number(row.server_id))).toEqual([recentErrored, alive]);
  expect(await records.pruneFinished(30)).toBe(0);
});

test('refuses a day count that is not a positive number', async () => {
  await expect(records.pruneFinished(0)).rejects.toBeInstanceOf(InvalidInputError);
  await expect(records.pruneFinished(Number.NaN)).rejects.toBeInstanceOf(InvalidInputError);
});
