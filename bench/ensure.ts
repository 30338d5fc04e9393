// Latency of `ensure` with 50 concurrent callers, beside the floor: one single-row UPDATE round-trip on the same
// database under the same concurrency. Runs on a fresh embedded PostgreSQL, or on BENCH_DATABASE_URL (an empty
// database it may fill with tables and rows).
// Usage: node bench/ensure.ts   (or npm run bench:ensure)
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DynamicServers } from '../src/api.ts';
import { publishTypes } from '../test/support/published-types.ts';
import { startEmbeddedPostgres, type Database } from '../src/db/database.ts';

const CALLERS = 50;
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

async function main(): Promise<void> {
  const database: Database = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, embedded: false, stop: async () => {} }
    : await startEmbeddedPostgres('bench_ensure');
  const pool = new pg.Pool({ connectionString: database.url, max: CALLERS });
  // An idle client can still be closing when the server stops; that is the end of the run, not a failure.
  pool.on('error', () => {});
  const types = Array.from({ length: CALLERS }, (_, caller) => `bench-${caller}`);
  await publishTypes(database.url, Object.fromEntries([...types, 'bench-shared'].map((type) => [type, { provider: 'bench' }])));
  const servers = await DynamicServers.open({ databaseUrl: database.url, poolSize: CALLERS });
  try {
    const version = (await pool.query<{ server_version: string }>('show server_version')).rows[0]?.server_version;
    await pool.query('create table bench_floor (id int primary key, n int not null)');
    await pool.query('insert into bench_floor select id, 0 from generate_series(0, $1) id', [CALLERS - 1]);

    const floor = await measure((caller) => pool.query('update bench_floor set n = n + 1 where id = $1', [caller]));
    // Each call changes something: its type alternates between 1 and 2 servers (create one, stop one).
    const ownType = await measure((caller, index) => servers.ensure(types[caller], 1 + (index % 2)));
    // All callers on one type: they queue on its lock, so this shows the cost of the per-type serialization.
    const sharedType = await measure((caller, index) => servers.ensure('bench-shared', 10 + ((caller + index) % 2)));

    // For reference, the same with a single caller: no queueing, only the round-trips and the work.
    const floorAlone = await measure((caller) => pool.query('update bench_floor set n = n + 1 where id = $1', [caller]), 1, 400);
    const ensureAlone = await measure((caller, index) => servers.ensure(types[caller], 1 + (index % 2)), 1, 400);

    const lines = [
      `ensure latency: ${CALLERS} concurrent callers x ${CALLS_PER_CALLER} calls (after ${WARMUP_CALLS_PER_CALLER} warm-up calls each)`,
      `PostgreSQL ${version} (${database.embedded ? 'embedded, fsync off' : 'BENCH_DATABASE_URL'}), Node ${process.versions.node}, ${availableParallelism()} CPUs`,
      '',
      `${'what'.padEnd(44)}${'p50'.padStart(10)}${'p99'.padStart(10)}   ratio to floor (p50 / p99)`,
      `${'floor: one single-row UPDATE round-trip'.padEnd(44)}${ms(floor.p50)}${ms(floor.p99)}`,
      `${'ensure, each caller on its own type'.padEnd(44)}${ms(ownType.p50)}${ms(ownType.p99)}   ${(ownType.p50 / floor.p50).toFixed(1)}x / ${(ownType.p99 / floor.p99).toFixed(1)}x`,
      `${'ensure, all callers on one type'.padEnd(44)}${ms(sharedType.p50)}${ms(sharedType.p99)}   ${(sharedType.p50 / floor.p50).toFixed(1)}x / ${(sharedType.p99 / floor.p99).toFixed(1)}x`,
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
