// Must-show 1 (hcloud): under Pulumi's mocks, the Pulumi side sends every input of a representative template to
// `hcloud:index/server:Server` (image from the snapshot, by id or by the newest snapshot matching a selector,
// server type, location, labels, user data, SSH keys, firewalls, networks, placement group, graceful shutdown),
// and the API token reaches the explicit provider only as a secret.
import { beforeAll, beforeEach, expect, test } from '@jest/globals';
import * as pulumi from '@pulumi/pulumi';
import type { ServerDeclaration } from '../../../providers/contract.ts';

type HcloudModule = typeof import('../../../providers/hcloud/index.ts');

/** How the Pulumi runtime marks a secret value on the wire (the mocks keep the mark on inputs). */
const SECRET = { '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270' };

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider: string | undefined;
}

let registered: Registered[] = [];
/** Resources registered with Pulumi's `import` option: their import id. */
let imported: { type: string; name: string; id: string }[] = [];
/** The `ignoreChanges` of every registered resource, by name (read from the registration the mock monitor receives). */
let ignored: Record<string, string[]> = {};
let calls: { token: string; inputs: Record<string, unknown>; provider: string | undefined }[] = [];
let hcloud: HcloudModule;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.id) imported.push({ type: args.type, name: args.name, id: args.id });
        registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown>, provider: args.provider });
        return { id: args.type === 'hcloud:index/server:Server' ? '4242' : `${args.name}-id`, state: args.inputs };
      },
      call(args) {
        calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown>, provider: args.provider });
        if (args.token === 'hcloud:index/getImage:getImage') return { id: 777001, type: 'snapshot', labels: { role: 'worker' } };
        throw new Error(`unexpected invoke ${args.token}`);
      },
    },
    'dynamic-servers',
    'workers',
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (request: { getName(): string; getIgnorechangesList(): string[] }, callback: unknown) => unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    ignored[request.getName()] = request.getIgnorechangesList();
    return register(request, callback);
  };
  hcloud = await import('../../../providers/hcloud/index.ts');
});

beforeEach(() => {
  imported = [];
  ignored = {};
  registered = [];
  calls = [];
});

const settled = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

const representative = {
  snapshot: { selector: { role: 'worker', release: '2025-06' } },
  serverType: 'cx32',
  location: 'nbg1',
  sshKeys: ['ops-key'],
  labels: { team: 'queue' },
  userData: '#cloud-config\nruncmd: [systemctl start worker]\n',
  firewallIds: [11],
  networks: [{ networkId: 21, ip: '10.0.1.5' }],
  placementGroupId: 31,
  publicIpv6: false,
};

const declaration = (template: Record<string, unknown>): ServerDeclaration => ({ installation: 'inst0001', serverId: 'workers-7', serverType: 'workers', template });

test('a server from the newest snapshot matching the selector gets every template input, labelled and shut down before deletion', async () => {
  const provider = hcloud.hcloudProvider({ endpoint: 'https://hcloud.test/v1', token: 'the-token', tokenInState: true });
  const declared = provider.declareServer(declaration(representative));
  expect(await settled(declared.providerId)).toBe('4242');

  expect(calls).toEqual([
    {
      token: 'hcloud:index/getImage:getImage',
      inputs: { withSelector: 'role=worker,release=2025-06', mostRecent: true, withStatuses: ['available'] },
      provider: expect.stringMatching(/::pulumi:providers:hcloud::workers-7::workers-7-id$/),
    },
  ]);
  const server = registered.find((resource) => resource.type === 'hcloud:index/server:Server');
  expect(server?.name).toBe('workers-7');
  expect(server?.inputs).toEqual({
    name: 'workers-7',
    image: '777001',
    serverType: 'cx32',
    location: 'nbg1',
    labels: { team: 'queue', 'managed-by': 'dynamic-servers', installation: 'inst0001', 'server-type': 'workers', 'server-id': 'workers-7' },
    sshKeys: ['ops-key'],
    userData: '#cloud-config\nruncmd: [systemctl start worker]\n',
    firewallIds: [11],
    networks: [{ networkId: 21, ip: '10.0.1.5' }],
    placementGroupId: 31,
    publicNets: [{ ipv4Enabled: true, ipv6Enabled: false }],
    shutdownBeforeDeletion: true,
  });
  expect(server?.provider).toMatch(/^urn:pulumi:workers::dynamic-servers::pulumi:providers:hcloud::workers-7::workers-7-id$/);
});

test('the explicit provider gets the endpoint, and the token only as a secret', async () => {
  const provider = hcloud.hcloudProvider({ endpoint: 'https://hcloud.test/v1', token: 'the-token', tokenInState: true });
  await settled(provider.declareServer(declaration(representative)).providerId);
  const explicit = registered.find((resource) => resource.type === 'pulumi:providers:hcloud');
  expect(explicit?.name).toBe('workers-7');
  expect(explicit?.inputs.endpoint).toBe('https://hcloud.test/v1');
  expect(explicit?.inputs.token).toEqual({ ...SECRET, value: 'the-token' });
});

test('by default the token stays out of the program (the plugin reads HCLOUD_TOKEN), and a snapshot id is used as the image', async () => {
  const provider = hcloud.hcloudProvider({ token: 'the-token' });
  await settled(provider.declareServer(declaration({ snapshot: { id: 123456 }, serverType: 'cx22', location: 'fsn1' })).providerId);
  expect(calls).toEqual([]);
  expect(registered.map((resource) => resource.type)).toEqual(['hcloud:index/server:Server']);
  expect(JSON.stringify(registered)).not.toContain('the-token');
  expect(registered[0]!.inputs).toEqual({
    name: 'workers-7',
    image: '123456',
    serverType: 'cx22',
    location: 'fsn1',
    labels: { 'managed-by': 'dynamic-servers', installation: 'inst0001', 'server-type': 'workers', 'server-id': 'workers-7' },
    publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
    shutdownBeforeDeletion: true,
  });
});

test('a bad declaration or template throws InvalidRequestError before any resource is declared', async () => {
  const { InvalidRequestError } = await import('../../../providers/contract.ts');
  const provider = hcloud.hcloudProvider({ token: 'the-token' });
  expect(() => provider.declareServer(declaration({ serverType: 'cx22', location: 'fsn1' }))).toThrow(InvalidRequestError);
  expect(() => provider.declareServer({ ...declaration(representative), serverId: 'Not Valid' })).toThrow(InvalidRequestError);
  expect(registered).toEqual([]);
});

test('a server the engine adopts is imported by its cloud id, never created, and inputs the cloud cannot give back are ignored on every server', async () => {
  const provider = hcloud.hcloudProvider({ token: 'the-token' });
  await settled(provider.declareServer({ ...declaration({ snapshot: { id: 123456 }, serverType: 'cx22', location: 'fsn1' }), adopt: '4242' }).providerId);
  expect(imported).toEqual([{ type: 'hcloud:index/server:Server', name: 'workers-7', id: '4242' }]);
  expect(ignored['workers-7']).toEqual(['image', 'userData', 'sshKeys', 'shutdownBeforeDeletion']);
  imported = [];
  await settled(provider.declareServer({ ...declaration({ snapshot: { id: 123456 }, serverType: 'cx22', location: 'fsn1' }), serverId: 'workers-8' }).providerId);
  expect(imported).toEqual([]);
  expect(ignored['workers-8']).toEqual(['image', 'userData', 'sshKeys', 'shutdownBeforeDeletion']);
});
