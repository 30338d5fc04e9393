// A worker killed outright (SIGKILL to its whole process group) in the middle of `pulumi up`, five times: nothing of
// it is left running 5 s later (its Pulumi CLI, and the dynamic-provider plugin the CLI started in a process group of
// its own), another worker frees its job and finishes the type's work, and the time from the kill to the other
// worker's `pulumi up` is printed per kill, with the median.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { listProcesses, type ProcessEntry } from '../../src/demo/processes-using.ts';
import { killGroup, startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { processTree, stillRunning } from '../support/process-tree.ts';
import { pollFor } from '../support/poll.ts';
import { startJobWorld, waitForStatus, type JobWorld } from './support/job-world.ts';

const KILLS = 5;
/** The create of each round waits this long inside the plugin (the cloud's Retry-After), so the kill lands mid-`up`. */
const CREATE_HELD_SECONDS = 30;

let jobs: JobWorld;
const workers: WorkerProcess[] = [];

const startWorker = () => startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '2']);

beforeAll(async () => {
  jobs = await startJobWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } }, inProcessWorker: false });
  for (let index = 0; index < 2; index += 1) workers.push(await startWorker());
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await jobs?.close();
});

/** The `pulumi up` CLI process (`<bin>/pulumi up ...`). */
const isPulumiUp = (entry: ProcessEntry) => {
  const [command, subcommand] = entry.commandLine.split(' ');
  return command!.endsWith('/pulumi') && subcommand === 'up';
};


test(`a worker killed mid-up ${KILLS} times leaves nothing running, and another worker takes the type over`, async () => {
  const takeoverSeconds: number[] = [];
  for (let round = 1; round <= KILLS; round += 1) {
    const injected = jobs.world.cloud.inspect().stats.injectedErrors;
    jobs.world.cloud.failNext({ count: 1, status: 503, code: 'unavailable', retryAfterSeconds: CREATE_HELD_SECONDS, match: { method: 'POST', pathPrefix: '/servers' } });
    await jobs.records.ensure('demo', round);

    // The new server's create reached the cloud and now waits out the Retry-After inside the plugin.
    await pollFor('the create to reach the cloud', 120_000, async () => (jobs.world.cloud.inspect().stats.injectedErrors > injected ? true : undefined));
    const processes = await listProcesses();
    const busy = workers.find((worker) => processTree(processes, worker.child.pid!).some(isPulumiUp));
    expect(busy).toBeDefined();
    const others = workers.filter((worker) => worker !== busy);
    const tree = processTree(processes, busy!.child.pid!);
    expect(tree.some((entry) => entry.commandLine.includes('cmd/dynamic-provider'))).toBe(true);
    const processGroups = [...new Set(tree.map((entry) => entry.processGroup))];
    // The plugin runs in a process group of its own: the group kill below does not reach it.
    expect(processGroups.length).toBeGreaterThan(1);

    const linesBefore = others.map((worker) => worker.lines.length);
    const killedAt = performance.now();
    killGroup(busy!.child, 'SIGKILL');
    const otherPids = new Set(others.map((worker) => worker.child.pid));
    const otherUp = pollFor('another worker to start `pulumi up`', 180_000, async () => {
      const up = (await listProcesses()).find((entry) => otherPids.has(entry.parentPid) && isPulumiUp(entry));
      return up ? performance.now() : undefined;
    });
    otherUp.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 5000 - (performance.now() - killedAt)));
    expect(await stillRunning(tree)).toEqual([]);
    expect(await busy!.exited).toBe('SIGKILL');

    takeoverSeconds.push((await otherUp - killedAt) / 1000);
    await waitForStatus(jobs.records, 'demo', 'running', round, 180_000);
    await waitForStatus(jobs.records, 'demo', 'new', 0, 60_000);
    expect(jobs.world.cloud.inspect().servers.filter((server) => server.status !== 'deleting')).toHaveLength(round);
    // The job came free through the sweep for abandoned jobs, not through Agenda's lock expiry.
    const linesSince = others.flatMap((worker, index) => worker.lines.slice(linesBefore[index]));
    expect(linesSince.some((line) => line.event === 'abandoned-job-freed' && line.job === 'reconcile:demo')).toBe(true);

    workers.splice(workers.indexOf(busy!), 1);
    workers.push(await startWorker());
  }
  const sorted = [...takeoverSeconds].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  process.stdout.write(`worker kill: seconds from the kill to another worker's pulumi up: ${takeoverSeconds.map((seconds) => seconds.toFixed(1)).join(', ')}; median ${median.toFixed(1)}\n`);
}, 900_000);
