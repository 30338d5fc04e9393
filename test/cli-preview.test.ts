// `pulumi preview` run as a child process on a project with a TypeScript `main`: proves the language host and
// the dynamic-provider plugin work from the command line, as a user runs them, and end with the CLI when it is
// killed.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listProcesses } from '../src/demo/processes-using.ts';
import { engineEnvironment, parsePreviewJson } from '../src/engine/pulumi-adapter.ts';
import { requireEngine, type Engine } from '../src/toolchain/engine.ts';
import { runCommand } from '../src/toolchain/run-command.ts';
import { processTree, stillRunning } from './support/process-tree.ts';
import { tempDir } from './support/temp-dir.ts';

const PROGRAM = `import * as pulumi from '@pulumi/pulumi';

interface Greeting {
  path: string;
  content: string;
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Greeting) {
    return { id: inputs.path, outs: inputs };
  },
};

class GreetingFile extends pulumi.dynamic.Resource {
  constructor(name: string, args: Greeting) {
    super(provider, name, args);
  }
}

const config = new pulumi.Config();
// The stack \`waiting\` keeps its program running for ten minutes, for the test that kills the CLI under it.
if (config.getBoolean('wait')) await new Promise((resolve) => setTimeout(resolve, 600_000));
const greeting: Greeting = { path: '/nonexistent/greeting.txt', content: config.require('greeting') };
new GreetingFile('greeting', greeting);
export const message: string = greeting.content;
`;

let engine: Engine;
let project: Awaited<ReturnType<typeof tempDir>>;
let env: NodeJS.ProcessEnv;

async function pulumi(...args: string[]) {
  const result = await runCommand(join(engine.binDir, 'pulumi'), [...args, '--non-interactive'], { cwd: project.path, env });
  if (result.code !== 0) throw new Error(`pulumi ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

beforeAll(async () => {
  engine = await requireEngine();
  project = await tempDir('cli-preview');
  await mkdir(join(project.path, 'state'));
  await writeFile(
    join(project.path, 'Pulumi.yaml'),
    'name: preview-test\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.ts\n',
  );
  await writeFile(join(project.path, 'package.json'), JSON.stringify({ name: 'preview-test', type: 'module' }));
  await writeFile(join(project.path, 'index.ts'), PROGRAM);
  await symlink(join(import.meta.dirname, '..', 'node_modules'), join(project.path, 'node_modules'));
  env = {
    ...process.env,
    ...engineEnvironment(engine, { PULUMI_BACKEND_URL: `file://${join(project.path, 'state')}`, PULUMI_CONFIG_PASSPHRASE: 'preview-test' }),
  };
});

afterAll(async () => {
  await project?.remove();
});

test('pulumi preview --stack runs the TypeScript program through the language host and plans the dynamic resource', async () => {
  await pulumi('stack', 'init', 'dev');
  await pulumi('config', 'set', 'greeting', 'hello', '--stack', 'dev');
  const { stdout } = await pulumi('preview', '--stack', 'dev', '--json');
  const plan = parsePreviewJson(stdout);
  expect(plan.changeSummary).toEqual({ create: 2 });
  expect(plan.steps.map((step) => [step.op, step.type])).toEqual([
    ['create', 'pulumi:pulumi:Stack'],
    ['create', 'pulumi-nodejs:dynamic:Resource'],
  ]);
  expect(plan.steps[1]?.urn).toMatch(/::greeting$/);
});

test('a killed `pulumi preview` leaves neither its language host nor its program running', async () => {
  await pulumi('stack', 'init', 'waiting');
  await pulumi('config', 'set', 'greeting', 'hello', '--stack', 'waiting');
  await pulumi('config', 'set', 'wait', 'true', '--stack', 'waiting');
  const cli = spawn(join(engine.binDir, 'pulumi'), ['preview', '--stack', 'waiting', '--non-interactive'], { cwd: project.path, env, detached: true, stdio: 'ignore' });
  const exited = new Promise((resolve) => cli.once('exit', (code, signal) => resolve(signal ?? code)));
  let tree = processTree(await listProcesses(), cli.pid!);
  for (let waited = 0; !tree.some((entry) => entry.commandLine.includes('cmd/run')) && waited < 120_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    tree = processTree(await listProcesses(), cli.pid!);
  }
  const languageHost = tree.find((entry) => entry.commandLine.includes('language-host.mjs'));
  const program = tree.find((entry) => entry.commandLine.includes('cmd/run'));
  expect(program?.parentPid).toBe(languageHost?.pid);
  // The engine starts the language host in a process group of its own: the group kill below does not reach it.
  expect(languageHost?.processGroup).not.toBe(cli.pid);

  const killedAt = performance.now();
  process.kill(-cli.pid!, 'SIGKILL');
  expect(await exited).toBe('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 5000 - (performance.now() - killedAt)));
  expect(await stillRunning(tree)).toEqual([]);
});
