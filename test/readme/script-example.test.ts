// The README's script example, copied out of README.md as it stands, run the way a user runs a script: by Node,
// in a project, with nothing in its environment but DATABASE_URL (and, in this checkout, the export condition that
// makes the package's name mean its sources). The server type it names is defined only by the
// project's stack file (published by the worker at its start); a worker process applies the changes.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { nodeOptionsForPackage } from '../../src/package-layout.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

const README = join(import.meta.dirname, '..', '..', 'README.md');

/** The first TypeScript block of the README section `heading`. */
async function readmeCode(heading: string): Promise<string> {
  const readme = await readFile(README, 'utf8');
  const section = readme.slice(readme.indexOf(`## ${heading}`));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error(`README section "${heading}" has no ts block`);
  return block[1]!;
}

let world: EngineWorld;
let worker: WorkerProcess;

beforeAll(async () => {
  world = await startEngineWorld({ serverType: 'worker', cloud: { delays: { initializing: 200, starting: 200, stopping: 100, rebooting: 200, deleting: 100 } } });
  worker = await startWorkerProcess(world.cliEnv);
});

afterAll(async () => {
  await worker?.stop();
  await world?.close();
});

test('the README script, run with only DATABASE_URL, gets servers made from the stack file running', async () => {
  const code = await readmeCode('Using it from a script');
  expect(code).toContain("from 'dynamic-servers'");
  expect(code).not.toMatch(/serverTypes|template|provider/);
  const script = join(world.projectDir, 'script.ts');
  await writeFile(script, code);

  // In the checkout, `dynamic-servers` resolves to its sources under their export condition (an install resolves it
  // to the compiled package: test/package/ runs scripts there).
  const run = await runCommand(process.execPath, [script], { cwd: world.projectDir, env: { DATABASE_URL: world.database.url, NODE_OPTIONS: nodeOptionsForPackage('')! } });
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
  // It printed countPerStatus('worker') last.
  expect(run.stdout).toMatch(/new: \d+/);

  const deadline = Date.now() + 120_000;
  for (;;) {
    const rows = await world.records.servers({ serverType: 'worker', provisioned: true });
    if (rows.length === 4 && rows.every((row) => row.status === 'running' && row.rebootRequestedAt === null)) break;
    if (Date.now() > deadline) throw new Error(`servers did not all run: ${JSON.stringify(await world.records.countPerStatus('worker'))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const response = await fetch(`${world.cloud.url}/servers?label_selector=${encodeURIComponent('server-type=worker')}`);
  const { servers } = (await response.json()) as { servers: { status: string; server_type: { name: string }; image: { description: string } }[] };
  // The stack file's template (snapshot base-snapshot, size small) reached the cloud; nothing in the script said so.
  expect(servers.filter((server) => server.status === 'running').map((server) => [server.image.description, server.server_type.name])).toEqual(
    Array.from({ length: 4 }, () => ['base-snapshot', 'small']),
  );
});
