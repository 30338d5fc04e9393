// How the engine grows with the fleet: 10 server types and 3 worker processes on the local cloud (no delays).
// Prints, for 100 and 1000 servers in total: ensure -> all running, the peak RSS of each worker and of the Pulumi
// CLI processes, the Pulumi state size per stack; then the database round trips of one no-op housekeeping tick, and
// the time of one `up` adding 10 servers to a stack that already holds 10, 100 and 500, beside a bare `up` of the same.
// Usage: node bench/scale.ts   (or npm run bench:scale)
import { copyFile, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DynamicServers } from '../src/api.ts';
import { startWorkerProcess, type WorkerProcess } from '../src/jobs/worker-process.ts';
import { publishProject } from '../src/runtime.ts';
import { startEngineWorld, type EngineWorld } from '../test/support/engine-world.ts';
import { bareServers, openBareDeployment } from './support/bare-up.ts';

const TYPES = Array.from({ length: 10 }, (_, index) => `scale-${index}`);
const WORKERS = 3;
const ZERO = { initializing: 0, starting: 0, stopping: 0, rebooting: 0, deleting: 0 };
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;

/** `VmHWM` (peak resident set) and `VmRSS` of process `pid` in kB, from /proc; undefined when it is gone. */
async function memoryOf(pid: number): Promise<{ peak: number; now: number } | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (!status) return undefined;
  const field = (name: string) => Number(/^(\w+):\s+(\d+) kB$/m.exec(status.split('\n').find((line) => line.startsWith(`${name}:`)) ?? '')?.[2] ?? 0);
  return { peak: field('VmHWM'), now: field('VmRSS') };
}

/** Samples every 100 ms the peak RSS of every `pulumi` CLI process on the machine until stopped; resolves with the largest. */
function watchPulumiMemory(): { stop(): Promise<{ peakKb: number; processes: number }> } {
  let peakKb = 0;
  const seen = new Set<number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const entry of await readdir('/proc').catch(() => [] as string[])) {
        if (!/^\d+$/.test(entry)) continue;
        const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
        if (!/(^|\/)pulumi\0/.test(command)) continue;
        seen.add(Number(entry));
        const memory = await memoryOf(Number(entry));
        if (memory) peakKb = Math.max(peakKb, memory.peak);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peakKb, processes: seen.size };
    },
  };
}

async function converged(script: DynamicServers, perType: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await script.countPerStatus();
    if (counts.running === perType * TYPES.length && counts.new + counts.starting + counts.stopping + counts.deleting === 0) return;
    if (counts.errored + counts.hanging > 0) throw new Error(`servers failed: ${JSON.stringify(counts)}`);
    if (Date.now() > deadline) throw new Error(`no convergence in ${timeoutMs / 1000} s: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Bytes of the newest checkpoint of each stack in the world's file:// backend. */
async function stateSizes(world: EngineWorld): Promise<number[]> {
  const stacksDir = join(world.dataDir, 'state', '.pulumi', 'stacks');
  const sizes: number[] = [];
  for (const project of await readdir(stacksDir).catch(() => [] as string[])) {
    for (const file of await readdir(join(stacksDir, project)).catch(() => [] as string[])) {
      if (file.endsWith('.json') || file.endsWith('.json.gz')) sizes.push((await stat(join(stacksDir, project, file))).size);
    }
  }
  return sizes;
}

/** Ensures `total` servers spread over the types and waits until all run; prints the figures; returns the time taken. */
async function fleetRun(world: EngineWorld, workers: WorkerProcess[], script: DynamicServers, total: number): Promise<number> {
  const perType = total / TYPES.length;
  const pulumiMemory = watchPulumiMemory();
  const started = performance.now();
  await Promise.all(TYPES.map((type) => script.ensure(type, perType)));
  await converged(script, perType, 1_800_000);
  const elapsed = performance.now() - started;
  const { peakKb, processes } = await pulumiMemory.stop();
  const workerPeaks = await Promise.all(workers.map(async (worker) => (await memoryOf(worker.child.pid!))?.peak ?? 0));
  const sizes = await stateSizes(world);
  console.log(
    `${String(total).padStart(5)} servers: ensure -> all running ${seconds(elapsed)}; worker peak RSS ${workerPeaks.map(megabytes).join(', ')}; ` +
      `Pulumi CLI peak RSS ${megabytes(peakKb)} over ${processes} CLI processes; state per stack ${Math.round(Math.min(...sizes) / 1024)}-${Math.round(Math.max(...sizes) / 1024)} KB`,
  );
  return elapsed;
}

const world = await startEngineWorld({ serverType: TYPES[0], cloud: { delays: ZERO, capacity: 5000, rateLimit: { limit: 1_000_000, refillPerSecond: 100_000 } } });
try {
  const stacks = join(world.projectDir, 'stacks');
  for (const type of TYPES.slice(1)) await copyFile(join(stacks, `Pulumi.${TYPES[0]}.yaml`), join(stacks, `Pulumi.${type}.yaml`));
  await publishProject(world.records, world.projectDir);
  const workers: WorkerProcess[] = [];
  for (let index = 0; index < WORKERS; index += 1) workers.push(await startWorkerProcess(world.cliEnv, ['--housekeeping-interval', '30']));
  const script = await DynamicServers.open({ databaseUrl: world.database.url });
  const times: number[] = [];
  try {
    for (const total of [100, 1000]) times.push(await fleetRun(world, workers, script, total));
    console.log(`time(1000) / time(100) = ${(times[1]! / times[0]!).toFixed(2)} (goal <= 11)`);
  } finally {
    await script.close();
    for (const worker of workers) await worker.stop();
  }

  // Database round trips of one no-op housekeeping tick (10 types, nothing to do): one worker with housekeeping
  // every second counts, in its own process, what it sends while the tick holds its run lock (support/count-statements.ts).
  // Its first tick also opens each type's stack (Pulumi CLI runs), so the figures are those of the 5 ticks after it.
  const countFile = join(world.dataDir, 'housekeeping-statements.json');
  type TickTotals = { ticks: number; messages: number; statements: number; transactions: number; milliseconds: number };
  const readTotals = async () => JSON.parse(await readFile(countFile, 'utf8').catch(() => '{"ticks":0}')) as TickTotals;
  const counted = await startWorkerProcess(
    { ...world.cliEnv, NODE_OPTIONS: `${world.cliEnv.NODE_OPTIONS ?? ''} --import=${join(import.meta.dirname, 'support', 'count-statements.ts')}`.trim(), STATEMENT_COUNT_FILE: countFile },
    ['--housekeeping-interval', '1'],
  );
  let first: TickTotals;
  let last: TickTotals;
  try {
    const ticks = async (count: number) => {
      const deadline = Date.now() + 300_000;
      for (;;) {
        const totals = await readTotals();
        if (totals.ticks >= count) return totals;
        if (Date.now() > deadline) throw new Error(`the counted worker ran ${totals.ticks} housekeeping ticks in 300 s, not ${count}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    first = await ticks(1);
    last = await ticks(first.ticks + 5);
  } finally {
    await counted.stop();
  }
  const per = (key: keyof TickTotals) => ((last[key] - first[key]) / (last.ticks - first.ticks)).toFixed(1);
  console.log(
    `one no-op housekeeping tick of ${TYPES.length} types (mean of ${last.ticks - first.ticks} ticks after the first): ${per('messages')} round trips, ` +
      `${per('statements')} statements, ${per('transactions')} transactions, ${per('milliseconds')} ms (the first: ${first.milliseconds.toFixed(0)} ms)`,
  );

  // One `up` adding 10 servers to a stack of 10, 100 and 500 (in this process, one type), beside a bare Automation
  // API `up` making the same change to a stack of its own: the part of the growth that is Pulumi's.
  const bare = await openBareDeployment(world);
  const type = TYPES[0]!;
  for (const held of [10, 100, 500]) {
    await world.records.ensure(type, held);
    await world.engine.converge(type, { timeoutMs: 1_800_000, pollMs: 50 });
    await world.records.ensure(type, held + 10);
    const started = performance.now();
    await world.engine.reconcile(type);
    const upMs = performance.now() - started;
    await world.engine.converge(type, { timeoutMs: 1_800_000, pollMs: 50 });
    await bare.apply(bareServers(held, 'bare'));
    const bareStarted = performance.now();
    await bare.apply(bareServers(held + 10, 'bare'));
    const bareMs = performance.now() - bareStarted;
    console.log(`one up adding 10 servers to a stack holding ${held}: ${seconds(upMs)}; a bare up making the same change: ${seconds(bareMs)}`);
  }
  await bare.apply([]);
} finally {
  await world.close();
}
