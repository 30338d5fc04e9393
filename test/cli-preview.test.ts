// `pulumi preview` run as a child process on a project with a TypeScript `main`: proves the language host and
// the dynamic-provider plugin work from the command line, as a user runs them.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { engineEnvironment, parsePreviewJson } from '../src/engine/pulumi-adapter.ts';
import { requireEngine, type Engine } from '../src/toolchain/engine.ts';
import { runCommand } from '../src/toolchain/run-command.ts';
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
