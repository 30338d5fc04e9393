// One worker's run locks share one PostgreSQL session: jobs that start and end at the same moment each wait for the
// session instead of queueing a query on a client that is still running another, which node-postgres deprecates
// (and pg@9 removes).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/database.ts';
import { JobRunLocks } from '../../src/jobs/job-run-locks.ts';

let database: EmbeddedDatabase;
let locks: JobRunLocks;
const realQuery = pg.Client.prototype.query;
/** Per client: queries sent and not yet answered, and the most there ever were at once. */
const inFlight = new Map<pg.Client, { now: number; most: number }>();

beforeAll(async () => {
  database = await startEmbeddedPostgres('run_locks_session');
  // Counts each client's unanswered queries (the promise form, which is the only one the run locks use).
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const count = inFlight.get(this) ?? { now: 0, most: 0 };
    inFlight.set(this, count);
    count.now += 1;
    count.most = Math.max(count.most, count.now);
    const result = (realQuery as (...a: unknown[]) => Promise<unknown>).apply(this, args);
    void result.finally(() => (count.now -= 1)).catch(() => {});
    return result;
  } as typeof realQuery;
  locks = await JobRunLocks.open(database.url);
}, 60_000);

afterAll(async () => {
  pg.Client.prototype.query = realQuery;
  await locks?.close();
  await database?.stop();
});

test('eight jobs taking, checking and releasing their run locks at once on one session all run, with no query queued on a busy client', async () => {
  const names = Array.from({ length: 8 }, (_, index) => `reconcile:type-${index}`);
  const seenRunning = await Promise.all(names.map((name) => locks.hold(name, () => locks.running(names))));
  for (const running of seenRunning) expect(running.size).toBeGreaterThan(0);
  expect(await locks.running(names)).toEqual(new Set());
  expect([...inFlight.values()].map((count) => count.most)).toEqual([1]);
});
