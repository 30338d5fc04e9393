// The real Pulumi engine through the Automation API: an inline program with a dynamic resource on a file://
// backend. Fails (does not skip) when the CLI is missing: requireEngine throws in beforeAll.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { LocalWorkspace, type Stack } from '@pulumi/pulumi/automation/index.js';
import { engineEnvironment, pulumiCommand } from '../src/engine/pulumi-adapter.ts';
import { requireEngine } from '../src/toolchain/engine.ts';
import { tempDir } from './support/temp-dir.ts';

/** A dynamic provider whose resource is a file on disk, so the test can see what the engine really did. */
const fileProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { path: string; content: string }) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(inputs.path, inputs.content);
    return { id: inputs.path, outs: inputs };
  },
  async delete(id: string) {
    const { rm } = await import('node:fs/promises');
    await rm(id, { force: true });
  },
};

/** A file managed by the engine through fileProvider. */
class ManagedFile extends pulumi.dynamic.Resource {
  constructor(name: string, args: { path: string; content: string }) {
    super(fileProvider, name, args);
  }
}

let work: Awaited<ReturnType<typeof tempDir>>;
let stack: Stack;
let declareFile = true;
let filePath: string;

beforeAll(async () => {
  const engine = await requireEngine();
  work = await tempDir('engine');
  filePath = join(work.path, 'managed.txt');
  const program = async () => {
    if (declareFile) new ManagedFile('managed-file', { path: filePath, content: 'hello' });
  };
  const backend = `file://${join(work.path, 'state')}`;
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(work.path, 'state'));
  stack = await LocalWorkspace.createOrSelectStack(
    { stackName: 'engine-test', projectName: 'engine-test', program },
    {
      workDir: work.path,
      pulumiCommand: await pulumiCommand(engine),
      projectSettings: { name: 'engine-test', runtime: 'nodejs', backend: { url: backend } },
      envVars: engineEnvironment(engine, { PULUMI_BACKEND_URL: backend, PULUMI_CONFIG_PASSPHRASE: 'engine-test' }),
    },
  );
});

afterAll(async () => {
  await work?.remove();
});

test('up creates the dynamic resource, preview then reports no change, and dropping it from the program deletes it', async () => {
  const created = await stack.up();
  expect(created.summary.result).toBe('succeeded');
  expect(created.summary.resourceChanges).toEqual({ create: 2 }); // the stack and the file
  expect(await readFile(filePath, 'utf8')).toBe('hello');

  const preview = await stack.preview();
  expect(preview.changeSummary).toEqual({ same: 2 });

  declareFile = false;
  const deleted = await stack.up();
  expect(deleted.summary.resourceChanges).toEqual({ delete: 1, same: 1 });
  expect(existsSync(filePath)).toBe(false);
  const state = await stack.exportStack();
  const types = (state.deployment.resources ?? []).map((resource: { type: string }) => resource.type);
  expect(types).not.toContain('pulumi-nodejs:dynamic:Resource');
});
