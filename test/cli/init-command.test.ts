// `dynamic-servers init [dir]` as a user runs it: a deployment project that depends on this package and runs its
// compiled stack program from node_modules, example stack files that validate and hold no secret, and a refusal,
// changing nothing, of a directory that already holds something. (test/package/ installs such a project for real.)
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../../src/package-layout.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { CLI } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

let work: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  work = await tempDir('init');
});

afterAll(async () => {
  await work?.remove();
});

function cli(cwd: string, ...args: string[]) {
  return runCommand(process.execPath, [CLI, ...args], { cwd, env: process.env });
}

/** Every file under `dir` with its content, by relative path. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files[join(entry.parentPath, entry.name).slice(dir.length + 1)] = await readFile(join(entry.parentPath, entry.name), 'utf8');
  }
  return files;
}

test('init makes a project in a new directory: its files, the next steps, and stack files that validate', async () => {
  const result = await cli(work.path, 'init', 'my-deployment');
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  const dir = join(work.path, 'my-deployment');
  const files = await snapshot(dir);
  expect(Object.keys(files).sort()).toEqual(
    ['.gitignore', 'Pulumi.yaml', 'count.ts', 'package.json', 'stacks/Pulumi.aws-worker.yaml', 'stacks/Pulumi.hcloud-worker.yaml', 'stacks/Pulumi.local-worker.yaml', 'tsconfig.json'].sort(),
  );
  expect(result.stdout).toContain(`Made a deployment project in ${dir}`);
  expect(result.stdout).toMatch(/Next steps:\n - cd my-deployment && npm install\n/);
  expect(result.stdout).toContain('pulumi config set --secret hcloud:token --stack hcloud-worker');

  const own = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
  const manifest = JSON.parse(files['package.json']!) as { name: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  expect(manifest.name).toBe('my-deployment');
  // The package itself, and the pinned Node its command, plugins and scripts run on (node_modules/.bin/node).
  expect(manifest.dependencies).toEqual({ 'dynamic-servers': `^${own.version}`, node: own.devDependencies.node });
  expect(manifest.devDependencies.typescript).toBe(own.devDependencies.typescript);

  // The Pulumi project runs the compiled program of the installed package (npm pack compiles it there).
  const project = parse(files['Pulumi.yaml']!) as { main: string; stackConfigDir: string; runtime: { options: { typescript: boolean } } };
  expect(project).toMatchObject({ main: 'node_modules/dynamic-servers/dist/src/engine/stack-program.js', stackConfigDir: 'stacks', runtime: { options: { typescript: false } } });
  expect(files['.gitignore']!.split('\n')).toEqual(expect.arrayContaining(['node_modules/', '.data/', '.env']));
  expect(files['count.ts']).toContain('export async function determineServerCount(serverType: string): Promise<number | undefined>');

  // One example per built-in provider; no secret in any of them (validate also refuses a plain-text credential).
  const providers = Object.entries(files)
    .filter(([path]) => path.startsWith('stacks/'))
    .map(([, text]) => (parse(text) as { config: Record<string, unknown> }).config['dynamic-servers:provider']);
  expect(providers.sort()).toEqual(['aws', 'hcloud', 'local']);
  for (const text of Object.values(files)) expect(text).not.toMatch(/^\s*[\w-]+:(token|secretKey|accessKey):\s*\S/m);
  const validate = await cli(dir, 'validate');
  expect({ code: validate.code, stderr: validate.stderr }).toEqual({ code: 0, stderr: '' });
  expect(validate.stdout.trim().split('\n')).toHaveLength(3);
});

test('init refuses a directory that holds anything, or a file, with exit 2 and changes nothing', async () => {
  const dir = join(work.path, 'taken');
  await cli(work.path, 'init', 'taken');
  await writeFile(join(dir, 'notes.txt'), 'mine\n');
  const before = await snapshot(dir);
  const modified = (await stat(join(dir, 'package.json'))).mtimeMs;

  for (const cwd of [dir, work.path]) {
    const result = await cli(cwd, 'init', cwd === dir ? '.' : 'taken');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`dynamic-servers: ${dir} is not empty (.gitignore, Pulumi.yaml, count.ts, notes.txt, package.json, ...): init makes a project in an empty or new directory, and changed nothing\n`);
  }
  expect(await snapshot(dir)).toEqual(before);
  expect((await stat(join(dir, 'package.json'))).mtimeMs).toBe(modified);

  const file = await cli(dir, 'init', 'notes.txt');
  expect(file.code).toBe(2);
  expect(file.stderr).toContain(`${join(dir, 'notes.txt')} is a file, not a directory`);
  expect(await snapshot(dir)).toEqual(before);
});
