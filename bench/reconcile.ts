// Time from `ensure(type, N)` to all N servers running on the local cloud (zero boot delay), beside a bare
// Automation API `up` of the same N resources on its own stack in the same run, and their ratio; the time from
// `ensure()` returning to the cloud's first `POST /servers` (the latency the engine adds before any server boots:
// 5 runs at N=1, one per N otherwise); how many Pulumi CLI processes one reconcile starts; plus the time of a
// no-op reconcile tick (desired version already applied: no Pulumi run).
// Usage: node bench/reconcile.ts [N ...]   (or npm run bench:reconcile; default N = 1 10 100)
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { StackEngine } from '../src/engine/stack-engine.ts';
import { startEngineWorld } from '../test/support/engine-world.ts';
import { bareServers, openBareDeployment } from './support/bare-up.ts';

const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
const ZERO = { initializing: 0, starting: 0, stopping: 0, rebooting: 0, deleting: 0 };
const world = await startEngineWorld({ cloud: { delays: ZERO, capacity: 1000, rateLimit: { limit: 100_000, refillPerSecond: 1000 } } });
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * An engine whose `pulumi` is a wrapper that notes each start in a file, then runs the real CLI: the same engine,
 * counted. The Automation API starts `<root>/bin/pulumi`, so the wrapper takes that place.
 */
async function countingEngine(): Promise<{ engine: StackEngine; starts: () => Promise<number> }> {
  const root = join(world.dataDir, 'counting-pulumi');
  const log = join(root, 'starts.log');
  await mkdir(join(root, 'bin'), { recursive: true });
  await writeFile(log, '');
  const wrapper = join(root, 'bin', 'pulumi');
  await writeFile(wrapper, `#!/bin/sh\necho "$1" >> ${JSON.stringify(log)}\nexec ${JSON.stringify(join(world.settings.engine.binDir, 'pulumi'))} "$@"\n`);
  await chmod(wrapper, 0o755);
  const settings = { ...world.settings, engine: { ...world.settings.engine, root, binDir: join(root, 'bin') } };
  const engine = new StackEngine({ ...settings, records: world.records, databaseUrl: world.database.url, dataDir: world.dataDir, env: {} });
  return { engine, starts: async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean).length };
}

/** Milliseconds from `since` to the first `POST /v1/servers` the cloud answered after it. */
function firstCreateAfter(since: number): number {
  const post = world.cloud.requests().find((request) => request.at >= since && request.method === 'POST' && /^\/v1\/servers(\?|$)/.test(request.path));
  if (!post) throw new Error('the cloud saw no POST /servers');
  return post.at - since;
}

try {
  const bare = await openBareDeployment(world);
  const counting = await countingEngine();
  // Warm: the counting engine opens its stack once (select, config) before what is counted.
  await world.records.ensure('demo', 1);
  await counting.engine.reconcile('demo');
  await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });
  await world.records.ensure('demo', 0);
  await counting.engine.reconcile('demo');
  await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });
  console.log('N     ensure -> all running    bare up of N    ratio    ensure -> first POST /servers    CLI starts per reconcile');
  for (const n of sizes.length > 0 ? sizes : [1, 10, 100]) {
    const firstPosts: number[] = [];
    for (let run = 0; run < (n === 1 ? 4 : 0); run += 1) {
      await world.records.ensure('demo', n);
      const returned = Date.now();
      await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });
      firstPosts.push(firstCreateAfter(returned));
      await world.records.ensure('demo', 0);
      await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });
    }
    let started = performance.now();
    await world.records.ensure('demo', n);
    const returned = Date.now();
    await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });
    const engineMs = performance.now() - started;
    firstPosts.push(firstCreateAfter(returned));
    firstPosts.sort((a, b) => a - b);
    const firstPost = firstPosts[Math.floor(firstPosts.length / 2)]!;

    // The same change once more through the counting engine: how many CLI processes one reconcile of N starts.
    await world.records.ensure('demo', 0);
    await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });
    await world.records.ensure('demo', n);
    const cliBefore = await counting.starts();
    await counting.engine.reconcile('demo');
    const cliStarts = (await counting.starts()) - cliBefore;
    await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });

    const declarations = bareServers(n, `bare-${n}`);
    started = performance.now();
    await bare.apply(declarations);
    const bareMs = performance.now() - started;
    const firstPostText = `${seconds(firstPost)}${firstPosts.length > 1 ? ` (median of ${firstPosts.length})` : ''}`;
    console.log(`${String(n).padEnd(6)}${seconds(engineMs).padEnd(24)}${seconds(bareMs).padEnd(16)}${`${(engineMs / bareMs).toFixed(2)}x`.padEnd(9)}${firstPostText.padEnd(33)}${cliStarts}`);

    await bare.apply([]);
    await world.records.ensure('demo', 0);
    await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });
  }
  const ticks: number[] = [];
  for (let tick = 0; tick < 20; tick += 1) {
    const started = performance.now();
    const report = await world.engine.reconcile('demo');
    ticks.push(performance.now() - started);
    if (report.updates !== 0) throw new Error('a no-op tick ran pulumi');
  }
  ticks.sort((a, b) => a - b);
  console.log(`no-op reconcile tick (20 runs): median ${ticks[10]!.toFixed(1)} ms, max ${ticks[19]!.toFixed(1)} ms`);
} finally {
  await world.close();
}
