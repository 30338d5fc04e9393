// The local provider's Pulumi side through the real engine, beyond the conformance suite: a create whose answer
// is lost still yields one server, provider errors cross `pulumi up` typed, template changes replace the server,
// token changes do not, and a refresh notices a server deleted behind the engine's back.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { InsufficientCapacityError, InvalidRequestError, type ServerDeclaration } from '../../providers/contract.ts';
import { localCloudProvider } from '../../providers/local/index.ts';
import { DeploymentError, openPulumiDeployment, type PulumiDeployment } from '../../src/conformance/pulumi-deployment.ts';
import { duplicateServers } from '../../src/local-cloud/inspection.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import { requireEngine, type Engine } from '../../src/toolchain/engine.ts';
import { tempDir } from '../support/temp-dir.ts';

let engine: Engine;
let cloud: LocalCloud;
let work: Awaited<ReturnType<typeof tempDir>>;
let deployment: PulumiDeployment;

const declaration = (serverId: string, snapshot = 'base-snapshot'): ServerDeclaration => ({
  installation: 'inst0001',
  serverId,
  serverType: 'lifecycle',
  template: { snapshot, size: 'small' },
});

/** A deployment of the same stack whose provider sends `token`. */
function deploymentWithToken(token: string | undefined): Promise<PulumiDeployment> {
  return openPulumiDeployment({
    engine,
    provider: localCloudProvider({ endpoint: cloud.url, token }),
    workDir: work.path,
    projectName: 'local-pulumi',
    stackName: 'lifecycle',
    passphrase: 'local-pulumi',
  });
}

async function untilNoServerDeleting(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (cloud.inspect().servers.some((server) => server.status === 'deleting') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  engine = await requireEngine();
  cloud = await startLocalCloud({ delays: { initializing: 10, deleting: 10 }, snapshots: ['base-snapshot', 'next-snapshot'] });
  work = await tempDir('local-pulumi');
  deployment = await deploymentWithToken(undefined);
});

afterAll(async () => {
  await cloud?.stop();
  await work?.remove();
});

test('up succeeds with exactly one server when the answer to its create was lost after the cloud created it', async () => {
  cloud.loseNextResponses(1);
  const ids = await deployment.apply([declaration('l1')]);
  const { servers, stats } = cloud.inspect();
  expect(stats.lostResponses).toBe(1);
  expect(stats.byRoute['POST /servers']).toBe(1);
  expect(servers.map((server) => String(server.id))).toEqual([ids.get('l1')]);
  expect(duplicateServers(servers).size).toBe(0);
});

test('a cloud without capacity fails up with InsufficientCapacityError, and the stack keeps what exists', async () => {
  cloud.updateSettings({ capacity: 1 });
  const failure = await deployment.apply([declaration('l1'), declaration('l2')]).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(DeploymentError);
  expect((failure as DeploymentError).providerError).toBeInstanceOf(InsufficientCapacityError);
  expect(cloud.inspect().servers.map((server) => server.labels['server-id'])).toEqual(['l1']);

  cloud.updateSettings({ capacity: 100 });
  const ids = await deployment.apply([declaration('l1'), declaration('l2')]);
  expect([...ids.keys()].sort()).toEqual(['l1', 'l2']);
  expect(cloud.inspect().servers).toHaveLength(2);
});

test('a bad declaration or template is an InvalidRequestError before the engine runs', async () => {
  const before = cloud.inspect().stats.total;
  await expect(deployment.apply([{ ...declaration('l3'), template: { snapshot: 'base-snapshot' } }])).rejects.toBeInstanceOf(InvalidRequestError);
  await expect(deployment.apply([{ ...declaration('l3'), template: { snapshot: 'base-snapshot', size: 'small', colour: 'red' } }])).rejects.toBeInstanceOf(InvalidRequestError);
  await expect(deployment.apply([declaration('L3!')])).rejects.toBeInstanceOf(InvalidRequestError);
  expect(cloud.inspect().stats.total).toBe(before);
});

test('a new snapshot in the template replaces the server (old one deleted first); a new token changes nothing in the cloud', async () => {
  const before = await deployment.apply([declaration('l1'), declaration('l2')]);
  const replaced = await deployment.apply([declaration('l1', 'next-snapshot'), declaration('l2')]);
  expect(replaced.get('l1')).not.toBe(before.get('l1'));
  expect(replaced.get('l2')).toBe(before.get('l2'));
  await untilNoServerDeleting();
  expect(cloud.inspect().servers.map((server) => String(server.id)).sort()).toEqual([replaced.get('l1'), replaced.get('l2')].sort());

  const requests = cloud.inspect().stats.total;
  const withToken = await deploymentWithToken('a-new-token');
  const same = await withToken.apply([declaration('l1', 'next-snapshot'), declaration('l2')]);
  expect(same).toEqual(replaced);
  expect(cloud.inspect().stats.total).toBe(requests);
});

test('a refresh drops a server deleted behind the engine’s back, and the next up creates it again', async () => {
  const ids = await deployment.apply([declaration('l1', 'next-snapshot'), declaration('l2')]);
  await fetch(`${cloud.url}/servers/${ids.get('l2')}`, { method: 'DELETE' });
  await untilNoServerDeleting();
  await deployment.stack.refresh();
  const again = await deployment.apply([declaration('l1', 'next-snapshot'), declaration('l2')]);
  expect(again.get('l1')).toBe(ids.get('l1'));
  expect(again.get('l2')).not.toBe(ids.get('l2'));
  expect(cloud.inspect().servers).toHaveLength(2);
});

test('up without servers deletes them all', async () => {
  await deployment.apply([]);
  await untilNoServerDeleting();
  expect(cloud.inspect().servers).toEqual([]);
});
