import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { RECORD_ENTITIES } from './entities/index.ts';
import { MIGRATIONS_TABLE, RECORD_MIGRATIONS } from './migrations/index.ts';

/** Advisory lock key (single bigint key space) held while migrations run: one process migrates at a time. */
const MIGRATION_LOCK_KEY = 4_473_010_001;

/** Opens the ORM on the server records of `databaseUrl`, with `poolSize` connections at most. Does not migrate. */
export async function openRecordsOrm(databaseUrl: string, poolSize: number): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: databaseUrl,
    entities: RECORD_ENTITIES,
    extensions: [Migrator],
    pool: { min: 0, max: poolSize },
    ensureDatabase: false,
    migrations: { migrationsList: RECORD_MIGRATIONS, tableName: MIGRATIONS_TABLE, snapshot: false, silent: true },
  });
}

/**
 * Runs the record migrations that have not run yet. Holds a session advisory lock on its own connection
 * meanwhile, so concurrent processes migrate one after the other (the later ones find nothing to do).
 * Returns the names of the migrations this call ran.
 */
export async function migrateRecords(orm: MikroORM, databaseUrl: string): Promise<string[]> {
  const lockHolder = new pg.Client({ connectionString: databaseUrl });
  await lockHolder.connect();
  try {
    await lockHolder.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const ran = await orm.migrator.up();
      return ran.map((migration) => migration.name);
    } finally {
      await lockHolder.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lockHolder.end();
  }
}
