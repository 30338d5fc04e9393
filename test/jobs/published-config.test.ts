// The stack files are the one place a type is configured, and workers follow them without a restart: two worker
// processes publish a changed file at once (or at the latest one housekeeping interval later), the next server is
// made from the new template while the existing one keeps its own, the registry keeps both versions, and a file
// made invalid is refused (the workers keep the last valid version and log why).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamicServers } from '../../src/api.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';
import { waitForStatus } from './support/job-world.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');
const HOUSEKEEPING_SECONDS = 5;

let world: EngineWorld;
let script: DynamicServers;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  world = await startEngineWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } } });
  for (let index = 0; index < 2; index += 1) workers.push(await startWorkerProcess(world.cliEnv, ['--housekeeping-interval', String(HOUSEKEEPING_SECONDS)]));
  script = await DynamicServers.open({ databaseUrl: world.database.url });
});

afterAll(async () => {
  await script?.close();
  for (const worker of workers) await worker.stop();
  await world?.close();
});

/** The cloud's server type (size) of each running server of type demo, by server name. */
async function cloudSizes(): Promise<Record<string, string>> {
  const response = await fetch(`${world.cloud.url}/servers?label_selector=${encodeURIComponent('server-type=demo')}`);
  const { servers } = (await response.json()) as { servers: { name: string; status: string; server_type: { name: string } }[] };
  return Object.fromEntries(servers.filter((server) => server.status === 'running').map((server) => [server.name, server.server_type.name]));
}

async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

test('a template changed in the stack file reaches the next server without a restart; the registry keeps both versions', async () => {
  await script.ensure('demo', 1);
  await waitForStatus(world.records, 'demo', 'running', 1);
  const file = join(world.projectDir, 'stacks', 'Pulumi.demo.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace('size: small', 'size: large'));
  const waited = await until('version 2 of demo', async () => (await world.records.serverTypeVersions('demo')).length === 2, 2 * HOUSEKEEPING_SECONDS * 1000);
  process.stdout.write(`the changed stack file was published ${waited} ms after it was written (housekeeping interval ${HOUSEKEEPING_SECONDS} s)\n`);

  await script.ensure('demo', 2);
  await waitForStatus(world.records, 'demo', 'running', 2);
  const [first, second] = await world.records.servers({ serverType: 'demo', status: 'running' });
  expect([first!.template.size, second!.template.size]).toEqual(['small', 'large']);
  expect(await cloudSizes()).toEqual({ [first!.name]: 'small', [second!.name]: 'large' });

  const types = await runCommand(process.execPath, [CLI, 'types', '--history', '--json'], { env: world.cliEnv });
  expect(types.code).toBe(0);
  const versions = JSON.parse(types.stdout) as { name: string; version: number; contentHash: string; template: { size: string } }[];
  expect(versions.map((version) => [version.name, version.version, version.template.size])).toEqual([
    ['demo', 1, 'small'],
    ['demo', 2, 'large'],
  ]);
  expect(versions[0]!.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(versions[1]!.contentHash).not.toBe(versions[0]!.contentHash);
  expect(workers.every((worker) => worker.child.exitCode === null)).toBe(true);
});

test('a stack file made invalid while the workers run is refused: they log why and go on with the last valid version', async () => {
  const file = join(world.projectDir, 'stacks', 'Pulumi.demo.yaml');
  const valid = await readFile(file, 'utf8');
  const refusedBefore = workers.map((worker) => worker.lines.filter((line) => line.event === 'publish-refused').length);
  await writeFile(file, valid.replace('size: large', 'size: large\n  dynamic-servers:maxServers: many'));
  await until(
    'both workers to refuse the file',
    () => workers.every((worker, index) => worker.lines.filter((line) => line.event === 'publish-refused').length > refusedBefore[index]!),
    2 * HOUSEKEEPING_SECONDS * 1000,
  );
  for (const worker of workers) {
    expect(worker.lines.filter((line) => line.event === 'publish-refused').at(-1)?.msg).toMatch(/Pulumi\.demo\.yaml:\d+: dynamic-servers:maxServers: .*many/);
  }
  expect((await world.records.serverTypeVersions('demo')).map((version) => version.version)).toEqual([1, 2]);

  await script.ensure('demo', 3);
  await waitForStatus(world.records, 'demo', 'running', 3);
  expect((await world.records.servers({ serverType: 'demo', status: 'running' })).map((server) => server.template.size)).toEqual(['small', 'large', 'large']);
  await writeFile(file, valid);
});
