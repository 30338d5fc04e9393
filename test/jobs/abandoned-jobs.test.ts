// The sweep for abandoned jobs on a real PostgreSQL: a job locked in the store whose run lock no session holds is
// freed on the second sweep that sees it with the same lock time, and scheduled now if it had no next run; a job a
// live worker runs, or one whose lock moved between sweeps, is left alone. Run locks exclude each other.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/database.ts';
import { sweepOnce } from '../../src/jobs/abandoned-jobs.ts';
import { JobRunLocks } from '../../src/jobs/job-run-locks.ts';
import { JOB_TABLE, openJobLockStore, prepareJobStore, type JobLockStore } from '../../src/jobs/job-store.ts';

let database: EmbeddedDatabase;
let db: pg.Client;
let store: JobLockStore;
const locks: JobRunLocks[] = [];

beforeAll(async () => {
  database = await startEmbeddedPostgres('abandoned_jobs');
  await prepareJobStore(database.url);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  store = openJobLockStore(database.url);
}, 60_000);

afterAll(async () => {
  await Promise.all(locks.map((lock) => lock.close()));
  await store?.close();
  await db?.end();
  await database?.stop();
});

async function openLocks(): Promise<JobRunLocks> {
  const opened = await JobRunLocks.open(database.url);
  locks.push(opened);
  return opened;
}

/** A job row as Agenda's `single` jobs look: `lockedSecondsAgo` null for an unlocked one. */
async function insertJob(name: string, lockedSecondsAgo: number | null, nextRun: boolean): Promise<void> {
  await db.query(
    `INSERT INTO "${JOB_TABLE}" (name, type, next_run_at, locked_at) VALUES ($1, 'single', $2, CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $3::float8) END)`,
    [name, nextRun ? new Date(Date.now() + 60_000) : null, lockedSecondsAgo],
  );
}

/** Waits until some session holds the run lock of `name`. */
async function untilRunning(observer: JobRunLocks, name: string): Promise<void> {
  while ((await observer.running([name])).size === 0) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function row(name: string): Promise<{ locked: boolean; next_run_at: Date | null }> {
  const { rows } = await db.query(`SELECT locked_at IS NOT NULL AS locked, next_run_at FROM "${JOB_TABLE}" WHERE name = $1`, [name]);
  return rows[0];
}

test('a job nobody runs is freed on the second sweep; a running one, an unlocked one and a re-locked one are not', async () => {
  // Names whose hash is negative as well as positive: the run locks are found by their key in pg_locks either way.
  const { rows } = await db.query<{ name: string; hash: number }>(`SELECT name, hashtext(name) AS hash FROM unnest($1::text[]) AS name`, [
    ['reconcile:a', 'reconcile:b', 'reconcile:c', 'reconcile:d', 'reconcile:e', 'reconcile:f'],
  ]);
  const negative = rows.find((entry) => entry.hash < 0)!.name;
  const positive = rows.find((entry) => entry.hash > 0)!.name;
  await insertJob(negative, 5, false); // held by a live worker below
  await insertJob(positive, 5, false); // its worker died: nobody holds it
  await insertJob('verify:x', 5, true); // its worker died before running it
  await insertJob('housekeeping', null, true); // not locked
  await insertJob('verify:relocked', 5, true); // locked again between the sweeps

  const worker = await openLocks();
  let finishRun: () => void = () => {};
  const running = worker.hold(negative, () => new Promise<void>((resolve) => (finishRun = resolve)));
  const sweeper = await openLocks();
  await untilRunning(sweeper, negative);
  expect([...(await sweeper.running([negative, positive, 'verify:x']))]).toEqual([negative]);

  const freed: string[] = [];
  const suspects = await sweepOnce(store, sweeper, new Map(), (name) => freed.push(name));
  expect(freed).toEqual([]);
  expect([...suspects.keys()].sort()).toEqual([positive, 'verify:relocked', 'verify:x'].sort());

  await db.query(`UPDATE "${JOB_TABLE}" SET locked_at = now() WHERE name = 'verify:relocked'`);
  await sweepOnce(store, sweeper, suspects, (name) => freed.push(name));
  expect(freed.sort()).toEqual([positive, 'verify:x'].sort());
  expect(await row(positive)).toMatchObject({ locked: false, next_run_at: expect.any(Date) });
  expect((await row(positive)).next_run_at!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  expect((await row('verify:x')).locked).toBe(false);
  expect((await row('verify:x')).next_run_at!.getTime()).toBeGreaterThan(Date.now() + 30_000);
  expect((await row(negative)).locked).toBe(true);
  expect((await row('verify:relocked')).locked).toBe(true);

  finishRun();
  await running;
  expect((await sweeper.running([negative])).size).toBe(0);
});

test('a run lock held by one worker makes another wait; a closed session (a dead worker) releases it', async () => {
  const first = await openLocks();
  const second = await openLocks();
  const order: string[] = [];
  let releaseFirst: () => void = () => {};
  const firstRun = first.hold('reconcile:shared', async () => {
    order.push('first starts');
    await new Promise<void>((resolve) => (releaseFirst = resolve));
    order.push('first ends');
  });
  await untilRunning(second, 'reconcile:shared');
  const secondRun = second.hold('reconcile:shared', async () => {
    order.push('second starts');
  });
  await new Promise((resolve) => setTimeout(resolve, 500)); // two tries of the second worker at least
  expect(order).toEqual(['first starts']);
  releaseFirst();
  await Promise.all([firstRun, secondRun]);
  expect(order).toEqual(['first starts', 'first ends', 'second starts']);

  const dying = await openLocks();
  let hang: () => void = () => {};
  const abandoned = dying.hold('reconcile:dying', () => new Promise<void>((resolve) => (hang = resolve)));
  await untilRunning(second, 'reconcile:dying');
  await dying.close();
  expect((await second.running(['reconcile:dying'])).size).toBe(0);
  hang();
  await abandoned;
});
