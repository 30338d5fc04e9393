// Rounds of "change the count, kill the busy worker's whole process group in the middle of its `pulumi up`, let the
// workers recover": the crash tests of the engine's own recovery. Each round holds the update at a known point with
// the local cloud's faults, so every kill lands mid-`up`:
// - scale-up: the answer to the first create is lost after the cloud made the server, and every later create and
//   list is held by a Retry-After: the create's retry (a create again, or, with a create that adopts, a list by
//   label first) waits inside the plugin, and the server the cloud made is in no state when the kill comes;
// - scale-down: every delete is held by a Retry-After.
// After each kill it checks that nothing of the killed worker runs, starts a replacement, waits for convergence and
// checks the cloud against the records: no duplicate, no orphan, every row running or deleted, no stack lock.
import { expect } from '@jest/globals';
import { listProcesses, type ProcessEntry } from '../../src/demo/processes-using.ts';
import { DEFAULT_WORKER_LAUNCH, killGroup, startWorkerProcess, type WorkerLogLine, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { duplicateServers, orphanServers } from '../../src/local-cloud/inspection.ts';
import type { JobWorld } from '../jobs/support/job-world.ts';
import { waitForStatus } from '../jobs/support/job-world.ts';
import { processTree, stillRunning } from './process-tree.ts';
import { pollFor } from './poll.ts';
import { readStackLocks, type StackLock } from './stack-locks.ts';

/** A `stack-recovery` line of a worker, with the worker that wrote it. */
export interface RecoveryLine {
  round: number;
  /** `<hostname>-<pid>` of the worker that recovered. */
  worker: string;
  staleLocks: { owner: string; host: string; pid: number | null; since: string | null }[];
  pendingOperations: number;
  pendingCreatesCleared: number;
  adopted: { name: string; providerId: string }[];
  leaksDeleted: { name: string; providerId: string }[];
}

/** What one round did. */
export interface RoundReport {
  round: number;
  from: number;
  to: number;
  /** `<hostname>-<pid>` of the worker killed; empty in a round without a kill. */
  killed: string;
  /** Processes of the killed worker's tree when it was killed (worker, Pulumi CLI, plugins); 0 without a kill. */
  killedProcesses: number;
  /** The stack's locks right after the kill (before any worker could recover); empty without a kill. */
  locksAtKill: StackLock[];
  /**
   * Cloud ids of the servers the killed update had made when it was killed (scale-up; empty otherwise). The engine
   * writes the state only when an update ends, so none of them is in it.
   */
  madeByKilledUpdate: string[];
  recoveries: RecoveryLine[];
}

/** How the rounds run. */
export interface KillRoundsOptions {
  jobs: JobWorld;
  serverType: string;
  /** Workers running at once (one is killed per round and replaced). */
  workers: number;
  /** The counts to ensure, one round each. */
  targets: readonly number[];
  /** The command the n-th worker started runs under (e.g. a host name of its own); none by default. */
  launcher?: (n: number) => readonly string[];
  /** Extra worker arguments. */
  workerArgs?: readonly string[];
}

const HOLD_SECONDS = 30;


/** The `pulumi up` CLI process (`<bin>/pulumi up ...`). */
const isPulumiUp = (entry: ProcessEntry) => {
  const [command, subcommand] = entry.commandLine.split(' ');
  return command!.endsWith('/pulumi') && subcommand === 'up';
};

const workerName = (worker: WorkerProcess) => String(worker.lines.find((line) => line.event === 'worker-started')?.name ?? `?-${worker.child.pid}`);

/** Workers running the rounds, and the rounds so far. */
export interface KillRounds {
  /**
   * One round: ensures `target` and, with `kill` (the default), holds the update and kills the busy worker's group
   * mid-`up` and starts a replacement; then waits for convergence and checks the cloud against the records.
   */
  round(target: number, kill?: boolean): Promise<RoundReport>;
  /** Stops the workers (SIGTERM). */
  stop(): Promise<void>;
}

/**
 * Starts `options.workers` workers for rounds on `options.jobs` (see KillRounds.round). Every killing round asserts:
 * the kill hit a worker inside `pulumi up` (the CLI and the dynamic-provider plugin in its tree) and none of that
 * tree's processes runs afterwards; every round asserts that after recovery the type has exactly `target` running
 * rows, no row in any other status but deleted, the live servers of this installation in the cloud are exactly the
 * running rows' (no duplicate, no orphan), and the stack holds no lock. Servers of other installations sharing the
 * cloud are not this installation's to count.
 */
export async function startKillRounds(options: Omit<KillRoundsOptions, 'targets'>): Promise<KillRounds> {
  const { jobs, serverType } = options;
  const { cloud } = jobs.world;
  const installation = jobs.records.installationId;
  const recoveries: RecoveryLine[] = [];
  let round = 0;
  let started = 0;
  const start = async () => {
    started += 1;
    const holder: { worker?: WorkerProcess } = {};
    const onLine = (line: WorkerLogLine) => {
      if (line.event !== 'stack-recovery') return;
      const { staleLocks, pendingOperations, pendingCreatesCleared, adopted, leaksDeleted } = line as unknown as RecoveryLine;
      recoveries.push({ round, worker: holder.worker ? workerName(holder.worker) : `?-${line.pid}`, staleLocks, pendingOperations, pendingCreatesCleared, adopted, leaksDeleted });
    };
    holder.worker = await startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '2', ...(options.workerArgs ?? [])], onLine, {
      command: [...(options.launcher?.(started) ?? []), ...DEFAULT_WORKER_LAUNCH.command] as [string, ...string[]],
    });
    return holder.worker;
  };
  const workers: WorkerProcess[] = [];
  for (let index = 0; index < options.workers; index += 1) workers.push(await start());
  let count = (await jobs.records.servers({ serverType, provisioned: true })).length;
  const ours = () => cloud.inspect().servers.filter((server) => server.labels.installation === installation);

  const liveIds = () => ours().filter((server) => server.status !== 'deleting').map((server) => String(server.id));

  async function kill(target: number): Promise<{ killed: string; killedProcesses: number; locksAtKill: StackLock[]; madeByKilledUpdate: string[] }> {
    const liveBefore = new Set(liveIds());
    const stats = () => cloud.inspect().stats;
    const injectedBefore = stats().injectedErrors;
    const hold = (method: 'GET' | 'POST' | 'DELETE') =>
      cloud.failNext({ count: 1000, status: 503, code: 'unavailable', retryAfterSeconds: HOLD_SECONDS, match: method === 'DELETE' ? { method, pathPrefix: '/servers/' } : { method, path: '/servers' } });
    if (target > count) {
      const lostBefore = stats().lostResponses;
      cloud.loseNextResponses(1);
      await jobs.records.ensure(serverType, target);
      // The cloud made the first server and dropped its answer; hold every create from now on (the retry too).
      await pollFor('a create whose answer is lost', 120_000, () => (stats().lostResponses > lostBefore ? true : undefined), 5);
      hold('POST');
      hold('GET');
    } else {
      hold('DELETE');
      await jobs.records.ensure(serverType, target);
    }
    await pollFor('a held request', 120_000, () => (stats().injectedErrors > injectedBefore ? true : undefined), 20);

    const processes = await listProcesses();
    const busy = workers.find((worker) => processTree(processes, worker.child.pid!).some(isPulumiUp));
    expect({ round, busy: busy !== undefined }).toEqual({ round, busy: true });
    const tree = processTree(processes, busy!.child.pid!);
    expect(tree.some((entry) => entry.commandLine.includes('cmd/dynamic-provider'))).toBe(true);
    killGroup(busy!.child, 'SIGKILL');
    expect(await busy!.exited).toBe('SIGKILL');
    const cli = tree.find(isPulumiUp)!;
    const locksAtKill = await readStackLocks(jobs.world.settings.backendUrl, 'dynamic-servers', serverType);
    // With no other worker alive, nothing can have cancelled it yet: the killed CLI's lock is there.
    if (workers.length === 1) expect({ round, locks: locksAtKill.map((lock) => lock.pid) }).toEqual({ round, locks: [cli.pid] });
    // The plugins run in process groups of their own and exit with the engine that started them.
    expect(await pollFor('the killed worker’s processes to end', 30_000, async () => ((await stillRunning(tree)).length === 0 ? [] : undefined), 100)).toEqual([]);
    const madeByKilledUpdate = target > count ? liveIds().filter((id) => !liveBefore.has(id)) : [];
    cloud.clearPendingFaults();
    workers.splice(workers.indexOf(busy!), 1);
    workers.push(await start());
    return { killed: workerName(busy!), killedProcesses: tree.length, locksAtKill, madeByKilledUpdate };
  }

  return {
    async round(target: number, killing = true): Promise<RoundReport> {
      round += 1;
      const killed = killing ? await kill(target) : (await jobs.records.ensure(serverType, target), { killed: '', killedProcesses: 0, locksAtKill: [], madeByKilledUpdate: [] });
      await waitForStatus(jobs.records, serverType, 'running', target, 240_000);
      for (const status of ['new', 'starting', 'stopping', 'deleting'] as const) await waitForStatus(jobs.records, serverType, status, 0, 120_000);
      await pollFor('the desired state to be applied', 120_000, async () => ((await jobs.records.desiredState(serverType)).workRemains ? undefined : true));
      // A worker reports what it recovered when its reconcile ends; the next round must not kill it before that.
      if (killing) await pollFor('the recovery report of the killed update', 120_000, () => (recoveries.some((line) => line.round === round) ? true : undefined));
      const rows = await jobs.records.servers({ serverType });
      expect({ round, unsettled: rows.filter((row) => !['running', 'deleted'].includes(row.status)).map((row) => `${row.name}: ${row.status}`) }).toEqual({ round, unsettled: [] });
      const inCloud = ours();
      const live = inCloud.filter((server) => server.status !== 'deleting');
      expect({ round, duplicates: [...duplicateServers(inCloud).keys()], orphans: orphanServers(inCloud, rows.map((row) => row.name)).map((server) => server.id) }).toEqual({ round, duplicates: [], orphans: [] });
      const running = rows.filter((row) => row.status === 'running');
      expect({ round, live: live.map((server) => String(server.id)).sort() }).toEqual({ round, live: running.map((row) => row.providerId!).sort() });
      expect({ round, locks: await readStackLocks(jobs.world.settings.backendUrl, 'dynamic-servers', serverType) }).toEqual({ round, locks: [] });
      const report = { round, from: count, to: target, ...killed, recoveries: recoveries.filter((line) => line.round === round) };
      count = target;
      return report;
    },
    async stop() {
      await Promise.all(workers.map((worker) => worker.stop()));
    },
  };
}

/** Runs one killing round per target of `options.targets` on fresh workers, and returns what each did. */
export async function runKillRounds(options: KillRoundsOptions): Promise<RoundReport[]> {
  const rounds = await startKillRounds(options);
  const reports: RoundReport[] = [];
  try {
    for (const target of options.targets) reports.push(await rounds.round(target));
  } finally {
    await rounds.stop();
  }
  return reports;
}
