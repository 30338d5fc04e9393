// Must-show 3: the hcloud provider's API side passes the conformance suite against the local cloud in its strict
// profile (token required, Hetzner's names; servers created and deleted through the API, as the hcloud Pulumi
// plugin cannot run here). The cloud's status history tells the suite what the server went through, the reboot
// included (which Hetzner shows only as a running `reboot_server` action).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { conformanceSuite } from '../../../providers/conformance.ts';
import { serverLabels, serverName } from '../../../providers/contract.ts';
import { hcloudCreateSpec, hcloudProvider, parseHcloudTemplate } from '../../../providers/hcloud/index.ts';
import { startLocalCloud, type LocalCloud } from '../../../src/local-cloud/local-cloud.ts';
import { apiDeployment } from '../../support/api-deployment.ts';
import { localCloudHistory } from '../../support/cloud-history.ts';

const TOKEN = randomBytes(24).toString('hex');
const serverType = `conformance-${randomBytes(3).toString('hex')}`;
const STEP_MS = 400;
const template = { snapshot: { selector: { role: 'worker' } }, serverType: 'cx22', location: 'fsn1', userData: '#cloud-config\n' };

let cloud: LocalCloud;
let provider: ReturnType<typeof hcloudProvider>;

beforeAll(async () => {
  const now = Date.now();
  const created = (offset: number) => new Date(now - offset).toISOString();
  cloud = await startLocalCloud({
    profile: 'strict',
    token: TOKEN,
    delays: { initializing: STEP_MS, starting: STEP_MS, stopping: STEP_MS, rebooting: STEP_MS, deleting: STEP_MS },
    snapshots: [
      { description: 'worker v1', labels: { role: 'worker' }, created: created(2000) },
      { description: 'worker v2', labels: { role: 'worker' }, created: created(1000) },
      { description: 'worker v3', labels: { role: 'worker' }, created: created(0), status: 'creating' },
    ],
  });
  provider = hcloudProvider({ endpoint: cloud.url, token: TOKEN, actionPollMs: 25 });
});

afterAll(async () => {
  await cloud?.stop();
});

const deployment = apiDeployment({
  create: async (declaration) => (await provider.api.createServer(hcloudCreateSpec(serverName(declaration), serverLabels(declaration), parseHcloudTemplate(declaration.template)))).providerId,
  delete: (providerId) => provider.api.delete(providerId),
});

const steps = conformanceSuite(() => ({
  provider,
  deployment,
  template,
  serverType,
  pollIntervalMs: 25,
  statusHistory: (providerId) => localCloudHistory(cloud)(providerId),
}));

const afterCreation = steps.findIndex((step) => step.name.startsWith('a repeated up')) + 1;

for (const step of steps.slice(0, afterCreation)) test(step.name, () => step.run());

test('while it exists, the server boots from the newest available snapshot the selector matches, with the template’s settings', () => {
  const { servers, images } = cloud.inspect();
  expect(servers).toHaveLength(1);
  const [server] = servers;
  expect(server!.imageId).toBe(images.find((image) => image.description === 'worker v2')!.id);
  expect(server!.serverType).toBe('cx22');
  expect(server!.location).toBe('fsn1');
  expect(server!.userData).toBe('#cloud-config\n');
  expect(server!.labels).toEqual({ 'managed-by': 'dynamic-servers', installation: 'conformance', 'server-type': serverType, 'server-id': `${serverType}-1` });
});

for (const step of steps.slice(afterCreation)) test(step.name, () => step.run());

test('the server was created once, took one action per step, and every request carried the token', () => {
  const requests = cloud.requests();
  const posts = requests.filter((request) => request.method === 'POST' && request.path === '/v1/servers');
  expect(posts).toEqual([expect.objectContaining({ method: 'POST', path: '/v1/servers', status: 201, token: 'default' })]);
  const commands = requests.filter((request) => request.status === 201 || request.method === 'DELETE').map((request) => `${request.method} ${request.path.replace(/\/\d+/g, '/{id}')}`);
  expect(commands).toEqual(['POST /v1/servers', 'POST /v1/servers/{id}/actions/reboot', 'POST /v1/servers/{id}/actions/shutdown', 'DELETE /v1/servers/{id}']);
  expect(requests.some((request) => request.code === 'unauthorized')).toBe(false);
  expect(cloud.inspect().servers).toEqual([]);
});
