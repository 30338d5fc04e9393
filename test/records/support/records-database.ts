import pg from 'pg';
import { startEmbeddedPostgres } from '../../../src/db/database.ts';
import { tableChecksums } from '../../support/db-checksums.ts';

/** An embedded PostgreSQL for one test file, with a client for direct SQL. */
export interface RecordsDatabase {
  url: string;
  client: pg.Client;
  /** Empties the record tables and restarts their ids (the tables must exist: open a DynamicServers first). */
  reset(): Promise<void>;
  /** Rows of `sql` run on the direct client. */
  rows<Row extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** `md5` of every row of every table in the public schema, by table: equal checksums mean equal contents. */
  checksums(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** Starts an embedded PostgreSQL with database `name` and connects a client to it. */
export async function startRecordsDatabase(name: string): Promise<RecordsDatabase> {
  const database = await startEmbeddedPostgres(name);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const rows = async <Row extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await client.query<Row>(sql, params)).rows;
  return {
    url: database.url,
    client,
    rows,
    async reset() {
      await client.query('truncate "server_status_change", "server", "desired_state" restart identity');
    },
    checksums: () => tableChecksums(client),
    async stop() {
      await client.end().catch(() => {});
      await database.stop();
    },
  };
}
