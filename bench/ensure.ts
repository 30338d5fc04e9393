// Latency of `ensure` with 50 concurrent callers, beside the floor: one single-row UPDATE round-trip on the same
// database under the same concurrency and with as many connections. Measured RUNS times in a row; prints each run
// and the median of the runs. Runs on a fresh embedded PostgreSQL, or on BENCH_DATABASE_URL (an empty database it
// may fill with tables and rows).
// Usage: node bench/ensure.ts   (or npm run bench:ensure)
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DynamicServers } from '../src/api.ts';
import { formatTable } from '../src/cli/text-table.ts';
import { publishTypes } from '../test/support/published-types.ts';
import { startEmbeddedPostgres, type Database } from '../src/db/database.ts';

const CALLERS = 50;
/**
 * Connections for the callers, the same for the floor and for ensure: DynamicServers's default pool size. (With one
 * connection per caller, 50 backends take turns on the machine's cores and every call waits longer: on 2 cores the
 * own-type p99 of ensure, as the median of five runs, was 28-37 ms that way and 15-29 ms with 10.)
 */
const CONNECTIONS = 10;
/**
 * One run's floor p99 is the 20th slowest of 2000 calls made within about a tenth of a second, so it is whatever the
 * machine did in that instant (5 to 35 ms have been seen on one machine, minutes apart): the figures are taken from
 * several runs, and their median is the result.
 */
const RUNS = 5;
const CALLS_PER_CALLER = 40;
const WARMUP_CALLS_PER_CALLER = 4;

/** The value below which `fraction` of the sorted samples lie (nearest rank). */
function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] as number;
}

/**
 * Runs `call(caller, index)` from `callers` concurrent callers, `calls` measured times each after a warm-up; returns
 * p50 and p99 in ms. Each caller goes from its warm-up straight on to its measured calls: a barrier between the two
 * would start every caller at the same instant, and that one burst, about 1 call in 40, would be the p99.
 */
async function measure(
  call: (caller: number, index: number) => Promise<unknown>,
  callers = CALLERS,
  calls = CALLS_PER_CALLER,
): Promise<{ p50: number; p99: number; samples: number }> {
  const samples: number[] = [];
  await Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let index = 0; index < WARMUP_CALLS_PER_CALLER + calls; index++) {
        const started = performance.now();
        await call(caller, index);
        if (index >= WARMUP_CALLS_PER_CALLER) samples.push(performance.now() - started);
      }
    }),
  );
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), samples: samples.length };
}

const ms = (value: number) => `${value.toFixed(2)} ms`.padStart(10);

/** The median of `values` (the mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** One run's figures (ms): the floor's, and ensure's on own types and on one type. */
interface Run {
  floor: { p50: number; p99: number };
  ownType: { p50: number; p99: number };
  sharedType: { p50: number; p99: number };
}

/** A table row of `run`'s figures (labelled `label`), each ensure case with `ratios`: its p99 over the floor's. */
function runRow(label: string, run: Run, ratios: { ownType: number; sharedType: number }): string[] {
  const figures = ({ p50, p99 }: { p50: number; p99: number }) => `${p50.toFixed(2)} / ${p99.toFixed(2)} ms`;
  return [label, figures(run.floor), `${figures(run.ownType)} (${ratios.ownType.toFixed(1)}x)`, `${figures(run.sharedType)} (${ratios.sharedType.toFixed(1)}x)`];
}

/** Each ensure case's p99 over the floor's p99 in `run`. */
const p99Ratios = (run: Run) => ({ ownType: run.ownType.p99 / run.floor.p99, sharedType: run.sharedType.p99 / run.floor.p99 });

async function main(): Promise<void> {
  const database: Database = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, embedded: false, stop: async () => {} }
    : await startEmbeddedPostgres('bench_ensure');
  const pool = new pg.Pool({ connectionString: database.url, max: CONNECTIONS });
  // An idle client can still be closing when the server stops; that is the end of the run, not a failure.
  pool.on('error', () => {});
  const types = Array.from({ length: CALLERS }, (_, caller) => `bench-${caller}`);
  await publishTypes(database.url, Object.fromEntries([...types, 'bench-shared'].map((type) => [type, { provider: 'bench' }])));
  const servers = await DynamicServers.open({ databaseUrl: database.url, poolSize: CONNECTIONS });
  try {
    const version = (await pool.query<{ server_version: string }>('show server_version')).rows[0]?.server_version;
    await pool.query('create table bench_floor (id int primary key, n int not null)');
    await pool.query('insert into bench_floor select id, 0 from generate_series(0, $1) id', [CALLERS - 1]);

    const floorCall = (caller: number) => pool.query('update bench_floor set n = n + 1 where id = $1', [caller]);
    const runs: Run[] = [];
    // Run 0 warms up: its floor's first calls also meet new connections and cold caches (p99 of 20 ms where the
    // runs after it had 4 to 7 ms).
    for (let run = 0; run <= RUNS; run++) {
      const floor = await measure(floorCall);
      // Each call changes something: its type alternates between 1 and 2 servers (create one, stop one).
      const ownType = await measure((caller, index) => servers.ensure(types[caller], 1 + (index % 2)));
      // All callers on one type: its changes apply one after the other (here, in one process, in turns whose changes
      // run together; see src/records/change-queue.ts), so this shows the cost of the per-type serialization.
      const sharedType = await measure((caller, index) => servers.ensure('bench-shared', 10 + ((caller + index) % 2)));
      if (run > 0) runs.push({ floor, ownType, sharedType });
      // A run makes about 2000 status changes in a few seconds, far more than autovacuum (a one-minute nap) cleans
      // up during the bench: without this, each run met the dead rows of the ones before it (own-type p50 16.5 ms
      // in the first, 22.0 ms in the fifth), and measured them rather than ensure.
      await pool.query('vacuum (analyze)');
    }

    // For reference, the same with a single caller: no queueing, only the round-trips and the work.
    const floorAlone = await measure(floorCall, 1, 400);
    const ensureAlone = await measure((caller, index) => servers.ensure(types[caller], 1 + (index % 2)), 1, 400);

    const rows = runs.map((run, index) => runRow(`run ${index + 1}`, run, p99Ratios(run)));
    const medianOf = (pick: (run: Run) => number) => median(runs.map(pick));
    const medianCase = (pick: (run: Run) => { p50: number; p99: number }) => ({ p50: medianOf((run) => pick(run).p50), p99: medianOf((run) => pick(run).p99) });
    const medianRun: Run = { floor: medianCase((run) => run.floor), ownType: medianCase((run) => run.ownType), sharedType: medianCase((run) => run.sharedType) };
    rows.push(runRow('median', medianRun, { ownType: medianOf((run) => p99Ratios(run).ownType), sharedType: medianOf((run) => p99Ratios(run).sharedType) }));
    const lines = [
      `ensure latency: ${CALLERS} concurrent callers on ${CONNECTIONS} connections x ${CALLS_PER_CALLER} calls (after ${WARMUP_CALLS_PER_CALLER} warm-up calls each), ${RUNS} runs after one that warms up`,
      `PostgreSQL ${version} (${database.embedded ? 'embedded, fsync off' : 'BENCH_DATABASE_URL'}), Node ${process.versions.node}, ${availableParallelism()} CPUs`,
      'p50 / p99 of each case; in brackets, its p99 over the floor\'s p99 in the same run (the median row: the median of each column)',
      '',
      formatTable(['', 'floor: one single-row UPDATE', 'ensure, each caller on its own type', 'ensure, all callers on one type'], rows),
      '',
      'for reference, one caller at a time:',
      `${'floor: one single-row UPDATE round-trip'.padEnd(44)}${ms(floorAlone.p50)}${ms(floorAlone.p99)}`,
      `${'ensure'.padEnd(44)}${ms(ensureAlone.p50)}${ms(ensureAlone.p99)}   ${(ensureAlone.p50 / floorAlone.p50).toFixed(1)}x / ${(ensureAlone.p99 / floorAlone.p99).toFixed(1)}x`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await servers.close();
    await pool.end();
    await database.stop();
  }
}

await main();
// Explicit, because the embedded PostgreSQL package's exit hook would otherwise decide the exit code.
process.exit(0);
