// Time from `ensure(type, N)` to all N servers running on the local cloud (zero boot delay), beside a bare
// Automation API `up` of the same N resources on its own stack in the same run, and their ratio; plus the time
// of a no-op reconcile tick (desired version already applied: no Pulumi run).
// Usage: node bench/reconcile.ts [N ...]   (or npm run bench:reconcile; default N = 1 10 100)
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openPulumiDeployment } from '../src/conformance/pulumi-deployment.ts';
import { localCloudProvider } from '../providers/local/index.ts';
import { startEngineWorld } from '../test/support/engine-world.ts';

const sizes = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
const ZERO = { initializing: 0, starting: 0, stopping: 0, rebooting: 0, deleting: 0 };
const world = await startEngineWorld({ cloud: { delays: ZERO, capacity: 1000, rateLimit: { limit: 100_000, refillPerSecond: 1000 } } });
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

try {
  const bareDir = join(world.dataDir, 'bare');
  await mkdir(bareDir, { recursive: true });
  const bare = await openPulumiDeployment({
    engine: world.settings.engine,
    provider: localCloudProvider({ endpoint: world.cloud.url }),
    workDir: bareDir,
    projectName: 'bare-up',
    stackName: 'bare',
    passphrase: 'bare',
  });
  console.log('N     ensure -> all running    bare up of N    ratio');
  for (const n of sizes.length > 0 ? sizes : [1, 10, 100]) {
    let started = performance.now();
    await world.records.ensure('demo', n);
    await world.engine.converge('demo', { timeoutMs: 900_000, pollMs: 50 });
    const engineMs = performance.now() - started;

    const declarations = Array.from({ length: n }, (_, index) => ({ installation: 'bench', serverId: `bare-${n}-${index}`, serverType: 'bare', template: { snapshot: 'base-snapshot', size: 'small' } }));
    started = performance.now();
    await bare.apply(declarations);
    const bareMs = performance.now() - started;
    console.log(`${String(n).padEnd(6)}${seconds(engineMs).padEnd(24)}${seconds(bareMs).padEnd(16)}${(engineMs / bareMs).toFixed(2)}x`);

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
