// Must-show 1: the conformance suite passes for providers/local through the real Pulumi engine (servers created
// and deleted by `pulumi up`), against a local cloud this test starts and stops. The cloud's own status history
// tells the suite what each server went through, so no verdict depends on a poll landing inside a short step.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { conformanceSuite } from '../../providers/conformance.ts';
import { localCloudProvider } from '../../providers/local/index.ts';
import { openPulumiDeployment, type PulumiDeployment } from '../../src/conformance/pulumi-deployment.ts';
import { duplicateServers } from '../../src/local-cloud/inspection.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import { requireEngine } from '../../src/toolchain/engine.ts';
import { localCloudHistory } from '../support/cloud-history.ts';
import { tempDir } from '../support/temp-dir.ts';

const TOKEN = randomBytes(18).toString('hex');
const serverType = `conformance-${randomBytes(3).toString('hex')}`;
const STEP_MS = 400;

let cloud: LocalCloud;
let work: Awaited<ReturnType<typeof tempDir>>;
let provider: ReturnType<typeof localCloudProvider>;
let deployment: PulumiDeployment;

beforeAll(async () => {
  const engine = await requireEngine();
  cloud = await startLocalCloud({
    token: TOKEN,
    delays: { initializing: STEP_MS, starting: STEP_MS, stopping: STEP_MS, rebooting: STEP_MS, deleting: STEP_MS },
  });
  work = await tempDir('conformance-local');
  provider = localCloudProvider({ endpoint: cloud.url, token: TOKEN });
  deployment = await openPulumiDeployment({
    engine,
    provider,
    workDir: work.path,
    projectName: 'conformance-local',
    stackName: serverType,
    passphrase: 'conformance-local',
  });
});

afterAll(async () => {
  await cloud?.stop();
  await work?.remove();
});

const steps = conformanceSuite(() => ({
  provider,
  deployment,
  template: { snapshot: 'base-snapshot', size: 'small' },
  serverType,
  pollIntervalMs: 25,
  statusHistory: (providerId) => localCloudHistory(cloud)(providerId),
}));
const afterCreation = steps.findIndex((step) => step.name.startsWith('a repeated up')) + 1;

for (const step of steps.slice(0, afterCreation)) test(step.name, () => step.run());

test('while the server exists, its Pulumi state holds the API token only encrypted', async () => {
  const state = (await deployment.readStoredState()) as { resources?: { type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }[] };
  const server = state.resources?.find((resource) => resource.type === 'pulumi-nodejs:dynamic/local-cloud:Server');
  expect(server?.inputs.token).toEqual(expect.objectContaining({ ciphertext: expect.any(String) }));
  expect(server?.outputs.token).toEqual(expect.objectContaining({ ciphertext: expect.any(String) }));
  expect(JSON.stringify(state)).not.toContain(TOKEN);
});

for (const step of steps.slice(afterCreation)) test(step.name, () => step.run());

test('the cloud saw a single create and holds no server; the token is in no file of the stack in plain text', async () => {
  const { servers, stats } = cloud.inspect();
  expect(stats.byRoute['POST /servers']).toBe(1);
  expect(duplicateServers(servers).size).toBe(0);
  expect(servers).toEqual([]);
  const files = (await readdir(work.path, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    expect(await readFile(join(file.parentPath, file.name), 'utf8')).not.toContain(TOKEN);
  }
});
