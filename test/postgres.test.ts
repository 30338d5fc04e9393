// The embedded PostgreSQL harness: a real server from npm, the locking primitives the engine relies on,
// and nothing left running afterwards.
import { expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/database.ts';

async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('embedded PostgreSQL supports SKIP LOCKED and advisory locks, and stops without leaving a process', async () => {
  const database = await startEmbeddedPostgres('harness_test');
  const pid = await database.serverPid();
  expect(alive(pid)).toBe(true);
  expect(await processesMentioning(database.dataDir)).toContain(pid);

  const first = new pg.Client({ connectionString: database.url });
  const second = new pg.Client({ connectionString: database.url });
  await first.connect();
  await second.connect();
  try {
    await first.query('CREATE TABLE work (id int PRIMARY KEY)');
    await first.query('INSERT INTO work SELECT generate_series(1, 10)');

    const claim = 'SELECT id FROM work ORDER BY id LIMIT 3 FOR UPDATE SKIP LOCKED';
    await first.query('BEGIN');
    await second.query('BEGIN');
    const firstIds = (await first.query<{ id: number }>(claim)).rows.map((row) => row.id);
    const secondIds = (await second.query<{ id: number }>(claim)).rows.map((row) => row.id);
    expect(firstIds).toEqual([1, 2, 3]);
    expect(secondIds).toEqual([4, 5, 6]);
    await first.query('COMMIT');
    await second.query('COMMIT');

    const tryLock = 'SELECT pg_try_advisory_lock(4242) AS got';
    expect((await first.query<{ got: boolean }>(tryLock)).rows[0]?.got).toBe(true);
    expect((await second.query<{ got: boolean }>(tryLock)).rows[0]?.got).toBe(false);
    await first.query('SELECT pg_advisory_unlock(4242)');
    expect((await second.query<{ got: boolean }>(tryLock)).rows[0]?.got).toBe(true);

    // A transaction-scoped lock is released by COMMIT.
    await first.query('BEGIN');
    await first.query('SELECT pg_advisory_xact_lock(7)');
    expect((await second.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock(7) AS got')).rows[0]?.got).toBe(false);
    await first.query('COMMIT');
    expect((await second.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock(7) AS got')).rows[0]?.got).toBe(true);
  } finally {
    await first.end();
    await second.end();
  }

  await database.stop();
  expect(alive(pid)).toBe(false);
  expect(await processesMentioning(database.dataDir)).toEqual([]);
  expect(existsSync(database.dataDir)).toBe(false);
});
