// Must-show 3: the hcloud provider's API side passes the conformance suite against the Hetzner API test server
// (servers created and deleted through the API, as the hcloud Pulumi plugin cannot run here). Each step of the
// test server lasts many poll intervals, so the suite insists on seeing every transition, the reboot included
// (which Hetzner shows only as a running `reboot_server` action).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { conformanceSuite } from '../../../providers/conformance.ts';
import { serverLabels, serverName } from '../../../providers/contract.ts';
import { hcloudProvider, parseHcloudTemplate } from '../../../providers/hcloud/index.ts';
import { apiDeployment } from '../../support/api-deployment.ts';
import { startHcloudApiServer, type HcloudApiServer } from '../../support/hcloud-api-server/index.ts';

const TOKEN = randomBytes(24).toString('hex');
const serverType = `conformance-${randomBytes(3).toString('hex')}`;
const STEP_MS = 400;
const template = { snapshot: { selector: { role: 'worker' } }, serverType: 'cx22', location: 'fsn1', userData: '#cloud-config\n' };

let api: HcloudApiServer;
let provider: ReturnType<typeof hcloudProvider>;
let snapshotId = 0;

beforeAll(async () => {
  const created = Date.now();
  api = await startHcloudApiServer({
    token: TOKEN,
    durations: { create_server: STEP_MS, shutdown_server: STEP_MS, reboot_server: STEP_MS, delete_server: STEP_MS },
    images: [
      { type: 'snapshot', status: 'available', name: null, description: 'worker v1', created: created - 2000, labels: { role: 'worker' } },
      { type: 'snapshot', status: 'available', name: null, description: 'worker v2', created: created - 1000, labels: { role: 'worker' } },
      { type: 'snapshot', status: 'creating', name: null, description: 'worker v3', created, labels: { role: 'worker' } },
    ],
  });
  snapshotId = [...api.state.images.values()].find((image) => image.description === 'worker v2')!.id;
  provider = hcloudProvider({ endpoint: api.url, token: TOKEN, actionPollMs: 25 });
});

afterAll(async () => {
  await api?.stop();
});

const deployment = apiDeployment({
  create: async (declaration) => (await provider.api.createServer({ name: serverName(declaration), labels: serverLabels(declaration), template: parseHcloudTemplate(declaration.template) })).providerId,
  delete: (providerId) => provider.api.deleteServer(providerId),
});

const steps = conformanceSuite(() => ({
  provider,
  deployment,
  template,
  serverType,
  pollIntervalMs: 25,
  observesTransitions: true,
}));

const afterCreation = steps.findIndex((step) => step.name.startsWith('a repeated up')) + 1;

for (const step of steps.slice(0, afterCreation)) test(step.name, () => step.run());

test('while it exists, the server boots from the newest available snapshot the selector matches, with the template’s settings', () => {
  const [server] = [...api.state.servers.values()];
  expect(api.state.servers.size).toBe(1);
  expect(server!.image.id).toBe(snapshotId);
  expect(server!.serverType).toBe('cx22');
  expect(server!.location).toBe('fsn1');
  expect(server!.userData).toBe('#cloud-config\n');
  expect(server!.labels).toEqual({ 'managed-by': 'dynamic-servers', 'server-type': serverType, 'server-id': `${serverType}-1` });
});

for (const step of steps.slice(afterCreation)) test(step.name, () => step.run());

test('the server was created once, went through one action per step, and every request carried the token', () => {
  const posts = api.requests.filter((request) => request.method === 'POST' && request.path === '/v1/servers');
  expect(posts).toHaveLength(1);
  expect(posts[0]!.status).toBe(201);
  const commands = [...api.state.actions.values()].map((action) => action.command);
  expect(commands).toEqual(['create_server', 'reboot_server', 'shutdown_server', 'delete_server']);
  expect(api.requests.some((request) => request.code === 'unauthorized')).toBe(false);
  expect(api.state.servers.size).toBe(0);
});
