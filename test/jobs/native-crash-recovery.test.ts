// Must-show 2 of issue 15: with a create that is not idempotent, as the native hcloud and aws plugins' (the local
// provider's `adoptOnCreate: false`, on a cloud whose names may repeat, so a retried create makes a second server),
// the worker's whole process group is killed in the middle of `pulumi up` 10 times, scale-up and scale-down mixed.
// The engine's own recovery leaves 0 duplicates and 0 orphans, every row running or deleted, no stack lock, and
// nothing of the killed workers running; the recovery reports show adopted servers and cancelled stale locks.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { runKillRounds } from '../support/kill-rounds.ts';
import { startJobWorld, type JobWorld } from './support/job-world.ts';

/** Up, down, up, ... : each round one kill. */
const TARGETS = [2, 1, 3, 2, 4, 1, 3, 0, 2, 1];
let jobs: JobWorld;

beforeAll(async () => {
  jobs = await startJobWorld({
    inProcessWorker: false,
    cloud: { uniqueNames: false, delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } },
    stackConfig: { 'local:adoptOnCreate': false },
  });
}, 120_000);

afterAll(async () => {
  await jobs?.close();
});

test(`${TARGETS.length} kills of the worker's process group mid-up with a create that is not idempotent leave no duplicate, orphan, lock or process`, async () => {
  const reports = await runKillRounds({ jobs, serverType: 'demo', workers: 1, targets: TARGETS });
  for (const report of reports) {
    process.stdout.write(`round ${report.round}: ${report.from} -> ${report.to}, killed ${report.killed} (${report.killedProcesses} processes); recovery: ${JSON.stringify(report.recoveries.map(({ worker, staleLocks, pendingOperations, pendingCreatesCleared, adopted, leaksDeleted }) => ({ worker, staleLocks: staleLocks.map((lock) => `${lock.owner} pid ${lock.pid}`), pendingOperations, pendingCreatesCleared, adopted, leaksDeleted })))}\n`);
  }
  const all = reports.flatMap((report) => report.recoveries);
  const totals = {
    kills: reports.length,
    staleLocksCancelled: all.reduce((sum, line) => sum + line.staleLocks.length, 0),
    adopted: all.reduce((sum, line) => sum + line.adopted.length, 0),
    leaksDeleted: all.reduce((sum, line) => sum + line.leaksDeleted.length, 0),
    pendingOperations: all.reduce((sum, line) => sum + line.pendingOperations, 0),
  };
  process.stdout.write(`native crash recovery totals: ${JSON.stringify(totals)}\n`);
  // Every kill left the stack locked by the killed update; the next update cancelled exactly that lock.
  for (const report of reports) expect({ round: report.round, cancelled: report.recoveries.flatMap((line) => line.staleLocks).length }).toEqual({ round: report.round, cancelled: 1 });
  // Every scale-up round left at least one server the cloud made while no state recorded it (the one whose answer
  // was lost, and any other create that got through before the creates were held): the next update adopted exactly those.
  for (const report of reports.filter((candidate) => candidate.to > candidate.from)) {
    expect(report.madeByKilledUpdate.length).toBeGreaterThanOrEqual(1);
    expect({ round: report.round, adopted: report.recoveries.flatMap((line) => line.adopted.map((server) => server.providerId)).sort() }).toEqual({
      round: report.round,
      adopted: [...report.madeByKilledUpdate].sort(),
    });
  }
  expect(totals.adopted).toBeGreaterThanOrEqual(1);
  expect(totals.staleLocksCancelled).toBeGreaterThanOrEqual(1);
  expect((await jobs.records.servers({ serverType: 'demo', status: 'errored' })).length).toBe(0);
}, 1_500_000);
