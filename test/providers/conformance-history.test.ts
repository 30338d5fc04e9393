// The conformance suite's verdict on short steps comes from the cloud's status history, not from a poll landing
// inside them: on the fake with steps of 0 ms (no poll can see `rebooting`, `stopping` or `deleting`) the suite
// passes, and a provider whose reboot does nothing fails however the polls fall. The API-only deployment keeps
// these runs fast; the Pulumi-engine runs are conformance-fake and conformance-local.
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { ConformanceFailure, runConformanceSuite } from '../../providers/conformance.ts';
import { serverLabels, serverName, type ServerProvider } from '../../providers/contract.ts';
import { fakeProvider } from '../../providers/fake/index.ts';
import { apiDeployment } from '../support/api-deployment.ts';
import { tempDir } from '../support/temp-dir.ts';

let work: Awaited<ReturnType<typeof tempDir>>;
let provider: ReturnType<typeof fakeProvider>;

beforeEach(async () => {
  work = await tempDir('conformance-history');
  provider = fakeProvider(`${work.path}/cloud`);
});

afterEach(async () => {
  await work.remove();
});

/** Runs the whole suite on `subjectProvider` (the fake's cloud creating and deleting), with the fake's history. */
function runSuite(subjectProvider: ServerProvider) {
  const deployment = apiDeployment({
    create: async (declaration) => (await provider.cloud.create({ name: serverName(declaration), labels: serverLabels(declaration), template: declaration.template })).providerId,
    delete: (providerId) => provider.cloud.delete(providerId),
  });
  return runConformanceSuite({
    provider: subjectProvider,
    deployment,
    template: { snapshot: 'fake-snapshot' },
    serverType: 'history',
    pollIntervalMs: 10,
    statusHistory: (providerId) => provider.cloud.statusHistory(providerId),
  });
}

test('steps too short for any poll still pass: the history shows the server went through them', async () => {
  provider.cloud.setBehaviour({ delays: { starting: 0, stopping: 0, rebooting: 0, deleting: 0 } });
  await expect(runSuite(provider)).resolves.toBeUndefined();
  expect(await provider.cloud.list({})).toEqual([]);
});

test('a reboot that does nothing fails the suite, whatever the polls saw', async () => {
  provider.cloud.setBehaviour({ delays: { starting: 0, stopping: 0, rebooting: 0, deleting: 0 } });
  const idleReboot: ServerProvider = { ...provider, api: { ...bound(provider.cloud), reboot: async () => {} } };
  const failure = await runSuite(idleReboot).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ConformanceFailure);
  expect((failure as Error).message).toMatch(/^the cloud recorded server \S+ going running: it did not end at 'running'$/);
});

test('a stop that goes through a status it should not is caught in the history, even when no poll saw it', async () => {
  provider.cloud.setBehaviour({ delays: { starting: 0, stopping: 0, rebooting: 0, deleting: 0 } });
  const rebootingStop: ServerProvider = {
    ...provider,
    api: {
      ...bound(provider.cloud),
      stop: async (providerId) => {
        await provider.cloud.reboot(providerId);
        await provider.cloud.stop(providerId);
      },
    },
  };
  const failure = await runSuite(rebootingStop).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(ConformanceFailure);
  expect((failure as Error).message).toContain("'rebooting' is not allowed on the way to 'stopped'");
});

/** The fake cloud's API methods bound to it, so a test can replace one. */
function bound(cloud: typeof provider.cloud): ServerProvider['api'] {
  return {
    observe: (id) => cloud.observe(id),
    list: (labels) => cloud.list(labels),
    stop: (id) => cloud.stop(id),
    reboot: (id) => cloud.reboot(id),
    delete: (id) => cloud.delete(id),
  };
}
