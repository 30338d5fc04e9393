// Drains through `dynamic-servers worker` processes on the local cloud, with a drain hook module the stack file names
// (`dynamic-servers:drainHook`). The hook logs each call to a file and behaves as the server's meta says: `decrease
// 2` calls it for both victims before either is deleted (each call waits for the other); a hook that never returns
// ends at the deadline, the server deleted (or kept hanging under `undrainedServers: keep`); a hook that throws is
// recorded on the server and the policy applies (deleted, or kept errored); a hook that asks for more time gets it up
// to `maxDrainSeconds`.
import { afterEach, expect, test } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerRecord } from '../../src/api.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { startJobWorld, until, waitForStatus, type JobWorld } from './support/job-world.ts';

const FAST = { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 };
const DRAIN_SECONDS = 3;
const MAX_DRAIN_SECONDS = 6;
let jobs: JobWorld | undefined;
let worker: WorkerProcess | undefined;
let scratch: Awaited<ReturnType<typeof tempDir>> | undefined;

afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await jobs?.close();
  jobs = undefined;
  await scratch?.remove();
  scratch = undefined;
});

/** One line of the hook's log. */
interface HookEntry {
  event: 'called' | 'returned' | 'aborted' | 'extended';
  server: string;
  at: number;
  status?: string;
  reason?: string;
  deadline?: string;
  group?: string;
}

/** The drain hook module: logs to `log` and does what the server's meta says (`drain`: together, never, throws, extends). */
function hookModule(log: string): string {
  return `import { appendFileSync, readFileSync } from 'node:fs';
const LOG = ${JSON.stringify(log)};
const log = (entry) => appendFileSync(LOG, JSON.stringify({ ...entry, at: Date.now() }) + '\\n');
const entries = () => readFileSync(LOG, 'utf8').split('\\n').filter(Boolean).map((line) => JSON.parse(line));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function drainServer(server, drain) {
  const { drain: behaviour, group, size } = server.meta;
  log({ event: 'called', server: server.name, status: server.status, reason: drain.reason, deadline: drain.deadline.toISOString(), group });
  drain.signal.addEventListener('abort', () => log({ event: 'aborted', server: server.name }));
  if (behaviour === 'together') {
    // Returns only once the hooks of all \`size\` servers of its group were called: hooks run one after the other would never return.
    while (entries().filter((entry) => entry.event === 'called' && entry.group === group).length < size) await sleep(50);
  } else if (behaviour === 'never') {
    await new Promise(() => {});
  } else if (behaviour === 'throws') {
    throw new Error('the queue refused to release ' + server.name);
  } else if (behaviour === 'extends') {
    const deadline = await drain.extend(3600);
    log({ event: 'extended', server: server.name, deadline: deadline.toISOString() });
    await new Promise(() => {});
  }
  log({ event: 'returned', server: server.name });
}
`;
}

/** A world whose type drains through the hook module, and a worker process. */
async function start(undrainedServers: 'delete' | 'keep'): Promise<{ world: JobWorld; log: () => Promise<HookEntry[]> }> {
  scratch = await tempDir('drain-hook');
  const logFile = join(scratch.path, 'hook.log');
  jobs = await startJobWorld({
    cloud: { delays: FAST },
    inProcessWorker: false,
    projectFiles: { 'drain.mjs': hookModule(logFile) },
    stackConfig: {
      'dynamic-servers:drainHook': 'drain.mjs',
      'dynamic-servers:drainTimeoutSeconds': DRAIN_SECONDS,
      'dynamic-servers:maxDrainSeconds': MAX_DRAIN_SECONDS,
      'dynamic-servers:undrainedServers': undrainedServers,
    },
  });
  worker = await startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '1']);
  const log = async () =>
    (await readFile(logFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as HookEntry);
  return { world: jobs, log };
}

/** `count` running servers of `demo`, oldest first. */
async function runningServers(world: JobWorld, count: number): Promise<ServerRecord[]> {
  await waitForStatus(world.records, 'demo', 'running', count);
  return world.records.servers({ serverType: 'demo', status: 'running' });
}

/** One server's history as `to: reason`, and when it entered each status. */
async function historyOf(world: JobWorld, serverId: number): Promise<{ to: string; reason: string; at: number }[]> {
  return (await world.records.statusHistory(serverId)).map((change) => ({ to: change.to, reason: change.reason, at: change.changedAt.getTime() }));
}

/** Waits until server `serverId` is in `status`. */
function untilStatus(world: JobWorld, serverId: number, status: string): Promise<void> {
  return until(async () => (await world.records.server(serverId)).status === status, `server ${serverId} to be ${status}`, 120_000);
}

test('delete policy: decrease 2 drains both victims at once; a hook that never returns ends at the deadline, one that throws is recorded, one that asks for more time gets it up to the cap', async () => {
  const { world, log } = await start('delete');

  // decrease 2: both hooks are called before either victim is deleted; each returns only once the other was called.
  await world.records.ensure('demo', 4);
  for (const server of await runningServers(world, 4)) await world.records.mergeMeta(server.id, { drain: 'together', group: 'decrease', size: 2 });
  const decrease = await runCli(world.world.cliEnv, 'decrease', 'demo', '2');
  expect(decrease.code).toBe(0);
  const victims = (JSON.parse(decrease.stdout) as { stoppingServerIds: number[] }).stoppingServerIds;
  expect(victims).toHaveLength(2);
  for (const id of victims) await untilStatus(world, id, 'deleted');
  const names = await Promise.all(victims.map(async (id) => (await world.records.server(id)).name));
  const calls = (await log()).filter((entry) => entry.event === 'called' && names.includes(entry.server));
  expect(calls.map((entry) => entry.server).sort()).toEqual([...names].sort());
  expect(calls.every((entry) => entry.status === 'draining' && entry.reason === 'decrease(demo, 2)')).toBe(true);
  const histories = await Promise.all(victims.map((id) => historyOf(world, id)));
  const firstLeftDraining = Math.min(...histories.map((history) => history.find((change) => change.to === 'stopping')!.at));
  expect(Math.max(...calls.map((entry) => entry.at))).toBeLessThan(firstLeftDraining);
  for (const history of histories) {
    expect(history.map((change) => change.to)).toEqual(['new', 'starting', 'running', 'draining', 'stopping', 'deleting', 'deleted']);
    expect(history.find((change) => change.to === 'stopping')!.reason).toBe('drained: the drain hook returned');
  }
  process.stdout.write(`decrease 2: both hooks called ${Math.abs(calls[0]!.at - calls[1]!.at)} ms apart, the first victim left draining ${firstLeftDraining - Math.max(...calls.map((entry) => entry.at))} ms after the second call\n`);

  // A hook that never returns: at the deadline the server is deleted anyway, and the hook is aborted.
  const [older, newer] = await runningServers(world, 2);
  await world.records.mergeMeta(newer!.id, { drain: 'never' });
  await world.records.mergeMeta(older!.id, { drain: 'throws' });
  expect((await runCli(world.world.cliEnv, 'decrease', 'demo')).code).toBe(0);
  await untilStatus(world, newer!.id, 'deleted');
  const never = await historyOf(world, newer!.id);
  const drainedAt = never.find((change) => change.to === 'draining')!.at;
  const stopped = never.find((change) => change.to === 'stopping')!;
  expect(stopped.reason).toMatch(/^still draining at its deadline \S+; deleted anyway \(undrainedServers: delete\)$/);
  expect(stopped.at - drainedAt).toBeGreaterThanOrEqual(DRAIN_SECONDS * 1000);
  await until(async () => (await log()).some((entry) => entry.event === 'aborted' && entry.server === newer!.name), 'the never-returning hook to be aborted', 30_000);
  expect((await log()).some((entry) => entry.event === 'returned' && entry.server === newer!.name)).toBe(false);

  // A hook that throws: its error is recorded on the server, and the policy deletes it.
  expect((await runCli(world.world.cliEnv, 'decrease', 'demo')).code).toBe(0);
  await untilStatus(world, older!.id, 'deleted');
  expect((await world.records.server(older!.id)).lastError).toMatchObject({ class: 'Error', message: `the queue refused to release ${older!.name}` });
  expect((await historyOf(world, older!.id)).map((change) => `${change.to}: ${change.reason}`).slice(-4)).toEqual([
    'draining: decrease(demo, 1)',
    'stopping: the drain hook threw Error; deleted anyway (undrainedServers: delete)',
    'deleting: pulumi up deleted it',
    'deleted: the cloud answered not found',
  ]);

  // A hook that asks for an hour gets the cap: MAX_DRAIN_SECONDS after its drain began, and the drain ends there.
  await world.records.ensure('demo', 1);
  const [patient] = await runningServers(world, 1);
  await world.records.mergeMeta(patient!.id, { drain: 'extends' });
  expect((await runCli(world.world.cliEnv, 'decrease', 'demo')).code).toBe(0);
  await untilStatus(world, patient!.id, 'deleted');
  const extended = (await log()).find((entry) => entry.event === 'extended' && entry.server === patient!.name)!;
  const patientHistory = await historyOf(world, patient!.id);
  const patientDrainedAt = patientHistory.find((change) => change.to === 'draining')!.at;
  const patientStopped = patientHistory.find((change) => change.to === 'stopping')!;
  expect(new Date(extended.deadline!).getTime() - patientDrainedAt).toBe(MAX_DRAIN_SECONDS * 1000);
  expect(patientStopped.reason).toBe(`still draining at its deadline ${extended.deadline}; deleted anyway (undrainedServers: delete)`);
  expect(patientStopped.at).toBeGreaterThanOrEqual(new Date(extended.deadline!).getTime());
  process.stdout.write(
    `drain deadlines: a hook that never returned was ended ${stopped.at - drainedAt} ms after its drain began (deadline ${DRAIN_SECONDS} s); ` +
      `one that asked for 3600 s got ${MAX_DRAIN_SECONDS} s (the cap) and was ended after ${patientStopped.at - patientDrainedAt} ms\n`,
  );
  expect(world.world.cloud.inspect().servers).toHaveLength(0);
  expect(await worker!.stop()).toBe(0);
});

test('keep policy: a hook that never returns leaves its server hanging, one that throws leaves it errored, both in the cloud for a person; delete removes them', async () => {
  const { world, log } = await start('keep');
  await world.records.ensure('demo', 2);
  const [older, newer] = await runningServers(world, 2);
  await world.records.mergeMeta(newer!.id, { drain: 'never' });
  await world.records.mergeMeta(older!.id, { drain: 'throws' });

  expect((await runCli(world.world.cliEnv, 'decrease', 'demo')).code).toBe(0);
  await untilStatus(world, newer!.id, 'hanging');
  expect((await historyOf(world, newer!.id)).at(-1)!.reason).toMatch(/^still draining at its deadline \S+; kept for a person \(undrainedServers: keep\)$/);
  expect((await runCli(world.world.cliEnv, 'decrease', 'demo')).code).toBe(0);
  await untilStatus(world, older!.id, 'errored');
  const errored = await world.records.server(older!.id);
  expect(errored).toMatchObject({ providerId: older!.providerId, lastError: { class: 'Error', message: `the queue refused to release ${older!.name}` } });
  expect((await historyOf(world, older!.id)).at(-1)!.reason).toBe('the drain hook threw Error; kept for a person (undrainedServers: keep)');

  // Both stay in the cloud, not counted, and `list` says so; nothing replaces them (the desired count went down).
  expect(world.world.cloud.inspect().servers.map((server) => String(server.id)).sort()).toEqual([older!.providerId, newer!.providerId].sort());
  const list = await runCli(world.world.cliEnv, 'list', '--type', 'demo', '--status', 'hanging', 'errored');
  expect(list.stdout.split('\n').filter((line) => line.includes('not counted, still in the cloud'))).toHaveLength(2);
  expect(await world.records.desiredState('demo')).toMatchObject({ desiredCount: 0 });
  expect((await log()).filter((entry) => entry.event === 'called').map((entry) => entry.server)).toEqual([newer!.name, older!.name]);

  // A person deletes them: no second drain, straight to stopping.
  for (const server of [newer!, older!]) expect((await runCli(world.world.cliEnv, 'delete', server.name)).code).toBe(0);
  for (const server of [newer!, older!]) await untilStatus(world, server.id, 'deleted');
  expect((await log()).filter((entry) => entry.event === 'called')).toHaveLength(2);
  expect(world.world.cloud.inspect().servers).toHaveLength(0);
  expect(await worker!.stop()).toBe(0);
});
