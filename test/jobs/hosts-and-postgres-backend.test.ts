// Must-show 3 of issue 15: the crash run of native-crash-recovery.test.ts (a create that is not idempotent, 10 kills
// of a worker's whole process group mid-`up`, scale-up and scale-down mixed) on Pulumi's PostgreSQL state backend
// (`postgres://...?table=...`, on the records' own database), with 3 workers whose host names differ (each started
// under `unshare --uts` with a host name of its own; needs root). The lock a killed worker leaves names its host; a
// worker on another host cancels it. Converges every round; no stack is left locked.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import pg from 'pg';
import { runKillRounds } from '../support/kill-rounds.ts';
import { startJobWorld, type JobWorld } from './support/job-world.ts';

const TARGETS = [2, 1, 3, 2, 4, 1, 3, 0, 2, 1];
let jobs: JobWorld;

beforeAll(async () => {
  jobs = await startJobWorld({
    inProcessWorker: false,
    backend: 'postgres',
    cloud: { uniqueNames: false, delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } },
    stackConfig: { 'local:adoptOnCreate': false },
  });
}, 120_000);

afterAll(async () => {
  await jobs?.close();
});

/** Runs a worker under a UTS namespace of its own whose host name is `host-<n>`. */
const ownHostName = (n: number) => ['unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', `host-${n}`];
const hostOf = (worker: string) => worker.slice(0, worker.lastIndexOf('-'));

test(`3 workers on 3 host names, the postgres:// backend, ${TARGETS.length} kills mid-up: each stale lock is cancelled from another host, and the type converges`, async () => {
  expect(jobs.world.settings.backendUrl).toMatch(/^postgres:\/\/.*[?&]table=pulumi_state/);
  const reports = await runKillRounds({ jobs, serverType: 'demo', workers: 3, targets: TARGETS, launcher: ownHostName });
  for (const report of reports) {
    process.stdout.write(`round ${report.round}: ${report.from} -> ${report.to}, killed ${report.killed}; recovery: ${JSON.stringify(report.recoveries.map(({ worker, staleLocks, pendingOperations, pendingCreatesCleared, adopted, leaksDeleted }) => ({ worker, staleLocks: staleLocks.map((lock) => `${lock.owner} pid ${lock.pid}`), pendingOperations, pendingCreatesCleared, adopted, leaksDeleted })))}\n`);
  }
  const hosts = new Set(reports.flatMap((report) => [hostOf(report.killed), ...report.recoveries.map((line) => hostOf(line.worker))]));
  process.stdout.write(`hosts involved: ${[...hosts].sort().join(', ')}\n`);
  for (const report of reports) {
    const locks = report.recoveries.flatMap((line) => line.staleLocks.map((lock) => ({ lockHost: lock.host, by: hostOf(line.worker) })));
    // The one lock the killed update left names the killed worker's host, and a worker on another host cancelled it.
    expect({ round: report.round, locks: locks.length, lockHost: locks[0]?.lockHost, otherHost: locks[0] !== undefined && locks[0].by !== locks[0].lockHost }).toEqual({
      round: report.round,
      locks: 1,
      lockHost: hostOf(report.killed),
      otherHost: true,
    });
  }
  expect(hosts.size).toBeGreaterThanOrEqual(TARGETS.length);
  // The lock of the killed update was in the state table when the kill came (unless another worker was quicker).
  const seenAtKill = reports.filter((report) => report.locksAtKill.length === 1 && report.locksAtKill[0]!.hostname === hostOf(report.killed));
  process.stdout.write(`rounds whose lock was read from pulumi_state right after the kill: ${seenAtKill.length} of ${reports.length}\n`);
  expect(seenAtKill.length).toBeGreaterThan(0);
  // The stack's state lives in the records' PostgreSQL database, and holds no lock.
  const client = new pg.Client({ connectionString: jobs.world.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ key: string }>(`select key from pulumi_state order by key`);
    const keys = rows.map((row) => row.key);
    expect(keys.filter((key) => key.includes('/.pulumi/locks/') && key.endsWith('.json'))).toEqual([]);
    expect(keys).toContain('engine_world/.pulumi/stacks/dynamic-servers/demo.json');
  } finally {
    await client.end();
  }
  expect((await jobs.records.servers({ serverType: 'demo', status: 'errored' })).length).toBe(0);
}, 2_400_000);
