import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';
import pg from 'pg';
import type { ServerStatus } from '../../../src/api.ts';
import type { EngineRecords } from '../../../src/records/engine-records.ts';
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
      await client.query('truncate "server_status_change", "server", "desired_state", "server_type_config", "provider_config", "unavailable_offering", "offering_price" restart identity');
    },
    checksums: () => tableChecksums(client),
    async stop() {
      await client.end().catch(() => {});
      await database.stop();
    },
  };
}

/**
 * Registers the hooks of a records suite: an embedded PostgreSQL for the file (`database()`), emptied before each
 * test once the tables exist, and every DynamicServers put in `opened` closed after each test.
 */
export function useRecordsDatabase(name: string): { database: () => RecordsDatabase; opened: { close(): Promise<void> }[] } {
  let database: RecordsDatabase | undefined;
  const opened: { close(): Promise<void> }[] = [];
  beforeAll(async () => {
    database = await startRecordsDatabase(name);
  });
  beforeEach(async () => {
    // The first open migrates; later tests start from empty tables.
    if ((await database!.rows("select 1 from pg_tables where tablename = 'server'")).length > 0) await database!.reset();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((servers) => servers.close()));
  });
  afterAll(async () => {
    await database?.stop();
  });
  return { database: () => database!, opened };
}

/** Walks a server through the given statuses with `recordTransition`. */
export async function walk(servers: EngineRecords, serverId: number, ...statuses: ServerStatus[]): Promise<void> {
  for (const status of statuses) await servers.recordTransition(serverId, status, { reason: `test: ${status}` });
}
