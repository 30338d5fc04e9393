// The store Agenda keeps its jobs in, chosen by URL: PostgreSQL (`postgres://`, `postgresql://`; LISTEN/NOTIFY
// announces new jobs) or MongoDB (`mongodb://`, `mongodb+srv://`; workers poll). The schema or indexes are created
// once by prepareJobStore, before any worker starts, because several Agendas creating them at once race.
import { MongoBackend } from '@agendajs/mongo-backend';
import { PostgresBackend } from '@agendajs/postgres-backend';
import type { AgendaBackend } from 'agenda';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { UnsupportedJobStoreError } from './errors.ts';

/** The table (PostgreSQL) or collection (MongoDB) Agenda's jobs live in. */
export const JOB_TABLE = 'dynamic_servers_jobs';

/** Key of the session advisory lock that serializes schema creation (a space of its own). */
const SCHEMA_LOCK_KEY = 1_146_290_202;

/** The kinds of job store. */
export type JobStoreKind = 'postgres' | 'mongodb';

/** The kind of job store a URL names, or UnsupportedJobStoreError. */
export function jobStoreKind(url: string): JobStoreKind {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === 'mongodb' || scheme === 'mongodb+srv') return 'mongodb';
  throw new UnsupportedJobStoreError(`no job store for URL scheme ${JSON.stringify(scheme ?? '')}: use postgres:// or mongodb://`);
}

/**
 * Creates the job store's schema (PostgreSQL: table, indexes, trigger, one process at a time under an advisory
 * lock) or indexes (MongoDB) if missing. Run once before the workers open their backends (which skip it).
 */
export async function prepareJobStore(url: string): Promise<void> {
  if (jobStoreKind(url) === 'mongodb') {
    const backend = new MongoBackend({ address: url, collection: JOB_TABLE, ensureIndex: true });
    try {
      await backend.connect();
    } finally {
      await backend.disconnect();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK_KEY]);
    const backend = new PostgresBackend({ connectionString: url, tableName: JOB_TABLE, channelName: JOB_TABLE, ensureSchema: true });
    try {
      await backend.connect();
    } finally {
      await backend.disconnect();
    }
  } finally {
    await client.end();
  }
}

/** A backend on `url` for one Agenda; the schema or indexes must already exist (prepareJobStore). */
export function openJobBackend(url: string): AgendaBackend {
  if (jobStoreKind(url) === 'mongodb') return new MongoBackend({ address: url, collection: JOB_TABLE, ensureIndex: false });
  return new PostgresBackend({ connectionString: url, tableName: JOB_TABLE, channelName: JOB_TABLE, ensureSchema: false });
}

/**
 * Hands back the jobs the Agenda named `name` had locked but not run (after it drained): they become free for
 * the other workers at once instead of when their lock expires.
 */
export async function releaseJobLocks(url: string, name: string): Promise<number> {
  if (jobStoreKind(url) === 'mongodb') {
    const client = await MongoClient.connect(url);
    try {
      const result = await client.db().collection(JOB_TABLE).updateMany({ lockedAt: { $ne: null }, lastModifiedBy: name }, { $set: { lockedAt: null } });
      return result.modifiedCount;
    } finally {
      await client.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(`UPDATE "${JOB_TABLE}" SET locked_at = NULL WHERE locked_at IS NOT NULL AND last_modified_by = $1`, [name]);
    return result.rowCount ?? 0;
  } finally {
    await client.end();
  }
}

/** A job whose Agenda lock is set in the store, as openJobLockStore reads it. */
export interface LockedJob {
  name: string;
  /** The stored lock time, exactly (PostgreSQL keeps microseconds): freeJobLock frees the job only while it is unchanged. */
  lockedAt: string;
  /** False when the job has no next run (a run in progress has none): freeing it schedules one now. */
  hasNextRun: boolean;
}

/** Reads and frees Agenda job locks in the store, for the sweep that frees the jobs of dead workers. */
export interface JobLockStore {
  /** Every job whose lock is set. */
  lockedJobs(): Promise<LockedJob[]>;
  /**
   * Clears `job`'s lock if it still has the lock time read, and gives a job without a next run one now, so a
   * worker takes it at once. Returns whether it freed it (false when the lock changed meanwhile).
   */
  freeJobLock(job: LockedJob): Promise<boolean>;
  close(): Promise<void>;
}

/** A JobLockStore on the job store at `url` (one connection, opened on first use). */
export function openJobLockStore(url: string): JobLockStore {
  if (jobStoreKind(url) === 'mongodb') {
    let client: Promise<MongoClient> | undefined;
    const jobs = async () => (await (client ??= MongoClient.connect(url))).db().collection(JOB_TABLE);
    return {
      async lockedJobs() {
        const found = await (await jobs()).find({ lockedAt: { $ne: null } }, { projection: { name: 1, lockedAt: 1, nextRunAt: 1 } }).toArray();
        return found.map((job) => ({ name: String(job.name), lockedAt: (job.lockedAt as Date).toISOString(), hasNextRun: job.nextRunAt instanceof Date }));
      },
      async freeJobLock(job) {
        const lockedAt = new Date(job.lockedAt);
        const result = job.hasNextRun
          ? await (await jobs()).updateOne({ name: job.name, lockedAt }, { $set: { lockedAt: null } })
          : await (await jobs()).updateOne({ name: job.name, lockedAt, nextRunAt: null }, { $set: { lockedAt: null, nextRunAt: new Date() } });
        return result.modifiedCount === 1;
      },
      async close() {
        if (client) await (await client).close();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  // A lost idle connection is replaced on the next query; without a listener its 'error' would end the process.
  pool.on('error', () => {});
  return {
    async lockedJobs() {
      const { rows } = await pool.query<{ name: string; locked_at: string; has_next_run: boolean }>(
        `SELECT name, locked_at::text AS locked_at, next_run_at IS NOT NULL AS has_next_run FROM "${JOB_TABLE}" WHERE locked_at IS NOT NULL`,
      );
      return rows.map((row) => ({ name: row.name, lockedAt: row.locked_at, hasNextRun: row.has_next_run }));
    },
    async freeJobLock(job) {
      const result = await pool.query(`UPDATE "${JOB_TABLE}" SET locked_at = NULL, next_run_at = COALESCE(next_run_at, now()) WHERE name = $1 AND locked_at = $2::timestamptz`, [
        job.name,
        job.lockedAt,
      ]);
      return result.rowCount === 1;
    },
    close: () => pool.end(),
  };
}

/** Resolves when the job store at `url` answers a read of the jobs (for readiness checks); throws otherwise. */
export async function pingJobStore(url: string): Promise<void> {
  if (jobStoreKind(url) === 'mongodb') {
    const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 2000 });
    try {
      await client.db().collection(JOB_TABLE).findOne({}, { projection: { _id: 1 } });
    } finally {
      await client.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(`SELECT 1 FROM "${JOB_TABLE}" LIMIT 1`);
  } finally {
    await client.end();
  }
}
