// The README's `pulumi preview --stack <type>`, run as written from the project root by a shell whose first `node`
// is the machine's own (Node 20 here, too old for the TypeScript program): it plans the same creates and deletes as
// `dynamic-servers preview`, because the plugins run the project's pinned Node; without a pinned Node it says so.
// After a template change, the lists of `dynamic-servers preview --json` agree with its change summary.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHECKOUT_DIR } from '../../src/demo/scratch-project.ts';
import { isDeclaredResourceType, parsePreviewJson } from '../../src/engine/pulumi-adapter.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';
import { machineNode, pathWithMachineNodeFirst } from '../support/machine-node.ts';
import { tempDir } from '../support/temp-dir.ts';

/** The command as the README gives it (plus `--json`, to read the plan). */
const README_PREVIEW = 'PATH="$(npx dynamic-servers toolchain path):$PATH" pulumi preview --stack demo --json';

let world: EngineWorld;
let scratch: Awaited<ReturnType<typeof tempDir>>;
/** A user's shell: the machine's Node first, DATABASE_URL and the backend set, an npm cache of its own. */
let shellEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  world = await startEngineWorld({ cloud: { delays: { initializing: 50, starting: 50, stopping: 50, rebooting: 50, deleting: 50 } } });
  scratch = await tempDir('readme-preview');
  shellEnv = { ...world.cliEnv, PATH: pathWithMachineNodeFirst(), npm_config_cache: join(scratch.path, 'npm-cache'), PULUMI_SKIP_UPDATE_CHECK: 'true' };
  delete shellEnv.DYNAMIC_SERVERS_PULUMI_SDK;
  delete shellEnv.DYNAMIC_SERVERS_PROJECT_DIR;
  const version = await runCommand(machineNode(), ['--version'], {});
  process.stdout.write(`machine node: ${machineNode()} ${version.stdout.trim()}\n`);
}, 120_000);

afterAll(async () => {
  await world?.close();
  await scratch?.remove();
});

/** Runs `script` with sh in `cwd` with the user's shell environment. */
function shell(script: string, cwd: string) {
  return runCommand('sh', ['-c', script], { cwd, env: shellEnv });
}

/** The servers a `pulumi preview --json` plans to create and delete. */
function plannedServers(stdout: string) {
  const steps = parsePreviewJson(stdout).steps.filter((step) => isDeclaredResourceType(step.type));
  const names = (op: string) => steps.filter((step) => step.op === op).map((step) => step.urn.split('::').pop()).sort();
  return { creates: names('create'), deletes: names('delete') };
}

test('the README command plans the same creates and deletes as `dynamic-servers preview`, with the machine\'s Node first on PATH', async () => {
  await world.records.ensure('demo', 2);
  await world.engine.converge('demo');
  await world.records.ensure('demo', 1);
  await world.records.ensure('demo', 3);
  const creates = (await world.records.servers({ serverType: 'demo', status: 'new' })).map((row) => row.name).sort();
  const deletes = (await world.records.servers({ serverType: 'demo', status: 'stopping' })).map((row) => row.name).sort();
  expect({ creates: creates.length, deletes: deletes.length }).toEqual({ creates: 2, deletes: 1 });

  const readme = await shell(README_PREVIEW, world.projectDir);
  expect({ code: readme.code, stderr: readme.stderr }).toEqual({ code: 0, stderr: '' });
  const ours = await runCli(world.cliEnv, 'preview', 'demo', '--json');
  expect(ours.code).toBe(0);
  expect(plannedServers(readme.stdout)).toEqual({ creates, deletes });
  expect(JSON.parse(ours.stdout)).toMatchObject({ creates, deletes, updates: [] });
});

test('without a pinned Node in the project, the README command says which Node it needs and what to do', async () => {
  // A copy of the project whose node_modules has every package but no .bin (so no pinned node).
  const project = join(scratch.path, 'unpinned');
  await mkdir(join(project, 'node_modules'), { recursive: true });
  for (const entry of await readdir(join(CHECKOUT_DIR, 'node_modules'))) {
    if (entry !== '.bin') await symlink(join(CHECKOUT_DIR, 'node_modules', entry), join(project, 'node_modules', entry));
  }
  for (const entry of ['src', 'providers', 'stacks', 'Pulumi.yaml', 'package.json']) await cp(join(world.projectDir, entry), join(project, entry), { recursive: true, dereference: true });
  const engineBin = (await shell('npx dynamic-servers toolchain path', world.projectDir)).stdout.trim();

  const result = await shell(`PATH="${engineBin}:$PATH" pulumi preview --stack demo`, project);
  expect(result.code).not.toBe(0);
  expect(result.stdout + result.stderr).toMatch(/needs Node 22\.18 or newer.*no node_modules\/\.bin\/node was found/s);
  expect(result.stdout + result.stderr).toContain('npm install');
});

test('after a template change, `preview --json` lists no update and its lists agree with its change summary', async () => {
  await world.engine.converge('demo');
  const stackFile = join(world.projectDir, 'stacks', 'Pulumi.demo.yaml');
  await writeFile(stackFile, (await readFile(stackFile, 'utf8')).replace('size: small', 'size: large'));
  await world.records.increase('demo', 1);

  const ours = await runCli(world.cliEnv, 'preview', 'demo', '--json');
  expect(ours.code).toBe(0);
  const plan = JSON.parse(ours.stdout) as { creates: string[]; deletes: string[]; updates: string[]; changeSummary: Record<string, number> };
  const summary = plan.changeSummary;
  // The stack itself exists and is counted as `same`: every other count is one list.
  expect({ create: plan.creates.length, delete: plan.deletes.length, update: plan.updates.length }).toEqual({
    create: summary.create ?? 0,
    delete: summary.delete ?? 0,
    update: (summary.update ?? 0) + (summary.replace ?? 0),
  });
  expect(plan).toMatchObject({ creates: [expect.any(String)], deletes: [], updates: [] });
  // Existing servers keep their template: the README command plans the same single create.
  const readme = await shell(README_PREVIEW, world.projectDir);
  expect(readme.code).toBe(0);
  expect(plannedServers(readme.stdout)).toEqual({ creates: plan.creates, deletes: [] });
});
