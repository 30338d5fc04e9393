// How long a script's change waits for a worker: from `ensure()` returning in the script to the worker's
// `pulumi up` of that change starting, over 20 changes, with the housekeeping interval at its default (30 s), so
// only the wake-up notification can explain a short wait. One worker process, the local cloud without delays.
// Usage: node bench/wakeup.ts   (or npm run bench:wakeup)
import { DynamicServers } from '../src/api.ts';
import { startWorkerProcess, type WorkerLogLine } from '../src/jobs/worker-process.ts';
import { startEngineWorld } from '../test/support/engine-world.ts';

const CHANGES = 20;
const world = await startEngineWorld({ cloud: { delays: { initializing: 0, starting: 0, stopping: 0, rebooting: 0, deleting: 0 } } });
const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

try {
  const updates: WorkerLogLine[] = [];
  const worker = await startWorkerProcess(world.cliEnv, [], (line) => {
    if (line.event === 'stack-update' && line.phase === 'start') updates.push(line);
  });
  const script = await DynamicServers.open({ databaseUrl: world.database.url });
  const waits: number[] = [];
  try {
    for (let change = 0; change < CHANGES; change += 1) {
      const { version } = await script.ensure('demo', change % 2 === 0 ? 1 : 0);
      const returned = Date.now();
      const deadline = returned + 60_000;
      let started: WorkerLogLine | undefined;
      while (!(started = updates.find((update) => Number(update.desiredVersion) >= version))) {
        if (Date.now() > deadline) throw new Error(`no pulumi up for desired version ${version} within 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      waits.push(new Date(started.time).getTime() - returned);
      // Let the worker finish this change, so the next one finds it idle.
      while ((await script.desiredState('demo')).workRemains || (await script.servers({ serverType: 'demo', status: ['new', 'starting', 'stopping', 'deleting'] })).length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    await script.close();
    await worker.stop();
  }
  waits.sort((a, b) => a - b);
  const median = (waits[CHANGES / 2 - 1]! + waits[CHANGES / 2]!) / 2;
  console.log(`ensure() returned -> worker's pulumi up started, ${CHANGES} changes: median ${seconds(median)}, max ${seconds(waits.at(-1)!)}, min ${seconds(waits[0]!)}`);
  console.log(`each: ${waits.map((wait) => (wait / 1000).toFixed(3)).join(' ')}`);
} finally {
  await world.close();
}
