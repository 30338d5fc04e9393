// The conformance suite on the fake provider through the real Pulumi engine (the fake's state directory is shared
// by the engine's dynamic-provider plugin and this test), and its faults as an engine test meets them. The fake's
// own status history tells the suite what the server went through, so no verdict depends on polling luck.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { observeStatus, QuotaExceededError, type ServerDeclaration } from '../../providers/contract.ts';
import { conformanceSuite } from '../../providers/conformance.ts';
import { fakeProvider } from '../../providers/fake/index.ts';
import { DeploymentError, openPulumiDeployment, type PulumiDeployment } from '../../src/conformance/pulumi-deployment.ts';
import { requireEngine } from '../../src/toolchain/engine.ts';
import { tempDir } from '../support/temp-dir.ts';

const STEP_MS = 400;

let work: Awaited<ReturnType<typeof tempDir>>;
let provider: ReturnType<typeof fakeProvider>;
let deployment: PulumiDeployment;

beforeAll(async () => {
  const engine = await requireEngine();
  work = await tempDir('conformance-fake');
  provider = fakeProvider(`${work.path}/cloud`);
  provider.cloud.setBehaviour({ delays: { starting: STEP_MS, stopping: STEP_MS, rebooting: STEP_MS, deleting: STEP_MS } });
  deployment = await openPulumiDeployment({
    engine,
    provider,
    workDir: work.path,
    projectName: 'conformance-fake',
    stackName: 'conformance-fake',
    passphrase: 'conformance-fake',
  });
});

afterAll(async () => {
  await work?.remove();
});

for (const step of conformanceSuite(() => ({
  provider,
  deployment,
  template: { snapshot: 'fake-snapshot' },
  serverType: 'conformance-fake',
  pollIntervalMs: 25,
  statusHistory: (providerId) => provider.cloud.statusHistory(providerId),
}))) {
  test(step.name, () => step.run());
}

const declaration: ServerDeclaration = { installation: 'inst0001', serverId: 'endless-1', serverType: 'endless', template: {} };

test('a one-shot error injected by the test strikes the create that `up` runs in the plugin, typed', async () => {
  provider.cloud.injectOnce('create', 'quota-exceeded');
  const failure = await deployment.apply([declaration]).catch((error: unknown) => error);
  expect((failure as DeploymentError).providerError).toBeInstanceOf(QuotaExceededError);
  expect(provider.cloud.pendingFaults('create')).toBe(0);
  expect(provider.cloud.servers()).toEqual([]);
});

test('never-deleted: up deletes the server from the stack, but the cloud keeps it deleting', async () => {
  provider.cloud.setBehaviour({ delays: { starting: 0, stopping: 0, rebooting: 0, deleting: 0 }, endless: ['never-deleted'] });
  const providerId = (await deployment.apply([declaration])).get(declaration.serverId)!;
  expect(await observeStatus(provider.api, providerId)).toBe('running');
  await deployment.apply([]);
  expect(await observeStatus(provider.api, providerId)).toBe('deleting');
});
