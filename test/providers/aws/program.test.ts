// Must-show 1 (AWS): under Pulumi's mocks, the Pulumi side sends every input of a representative template to
// `aws:ec2/instance:Instance` (AMI by id or by the newest AMI carrying a set of tags, instance type, region,
// subnet, security groups, key pair, tags with Name and the project's labels, user data, spot request), and no
// credentials at all.
import { beforeAll, beforeEach, expect, test } from '@jest/globals';
import * as pulumi from '@pulumi/pulumi';
import type { ServerDeclaration } from '../../../providers/contract.ts';

type AwsModule = typeof import('../../../providers/aws/index.ts');

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

let registered: Registered[] = [];
/** Resources registered with Pulumi's `import` option: their import id. */
let imported: { type: string; name: string; id: string }[] = [];
/** The `ignoreChanges` of every registered resource, by name (read from the registration the mock monitor receives). */
let ignored: Record<string, string[]> = {};
let calls: { token: string; inputs: Record<string, unknown> }[] = [];
let aws: AwsModule;

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.id) imported.push({ type: args.type, name: args.name, id: args.id });
        registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> });
        return { id: 'i-0123456789abcdef0', state: args.inputs };
      },
      call(args) {
        calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        if (args.token === 'aws:ec2/getAmi:getAmi') return { id: 'ami-0fedcba9876543210', name: 'worker-2025-06' };
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
  aws = await import('../../../providers/aws/index.ts');
});

beforeEach(() => {
  imported = [];
  ignored = {};
  registered = [];
  calls = [];
});

const settled = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));
const declaration = (template: Record<string, unknown>): ServerDeclaration => ({ installation: 'inst0001', serverId: 'workers-7', serverType: 'workers', template });

const representative = {
  ami: { selector: { role: 'worker', release: '2025-06' }, owners: ['self', '123456789012'] },
  instanceType: 'c7g.large',
  region: 'eu-central-1',
  subnetId: 'subnet-0aa11',
  securityGroupIds: ['sg-0bb22', 'sg-0cc33'],
  keyName: 'ops',
  tags: { team: 'queue' },
  userData: '#!/bin/sh\nsystemctl start worker\n',
  spot: { maxPrice: '0.05' },
};

test('an instance from the newest AMI carrying the tags gets every template input, tagged with Name and the labels', async () => {
  const provider = aws.awsProvider({ region: 'eu-central-1' });
  try {
    const declared = provider.declareServer(declaration(representative));
    expect(await settled(declared.providerId)).toBe('i-0123456789abcdef0');
  } finally {
    provider.api.close();
  }
  expect(calls).toEqual([
    {
      token: 'aws:ec2/getAmi:getAmi',
      inputs: {
        mostRecent: true,
        owners: ['self', '123456789012'],
        filters: [
          { name: 'tag:role', values: ['worker'] },
          { name: 'tag:release', values: ['2025-06'] },
          { name: 'state', values: ['available'] },
        ],
        region: 'eu-central-1',
      },
    },
  ]);
  expect(registered.map((resource) => [resource.type, resource.name])).toEqual([['aws:ec2/instance:Instance', 'workers-7']]);
  expect(registered[0]!.inputs).toEqual({
    ami: 'ami-0fedcba9876543210',
    instanceType: 'c7g.large',
    region: 'eu-central-1',
    subnetId: 'subnet-0aa11',
    vpcSecurityGroupIds: ['sg-0bb22', 'sg-0cc33'],
    keyName: 'ops',
    tags: { team: 'queue', Name: 'workers-7', 'managed-by': 'dynamic-servers', installation: 'inst0001', 'server-type': 'workers', 'server-id': 'workers-7' },
    userData: '#!/bin/sh\nsystemctl start worker\n',
    userDataReplaceOnChange: true,
    instanceMarketOptions: { marketType: 'spot', spotOptions: { maxPrice: '0.05', instanceInterruptionBehavior: 'terminate', spotInstanceType: 'one-time' } },
  });
});

test('an AMI id is used as it is, without a lookup; optional settings are left out', async () => {
  const provider = aws.awsProvider();
  try {
    await settled(provider.declareServer(declaration({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro' })).providerId);
  } finally {
    provider.api.close();
  }
  expect(calls).toEqual([]);
  expect(registered[0]!.inputs).toEqual({
    ami: 'ami-03cf127a',
    instanceType: 't3.micro',
    tags: { Name: 'workers-7', 'managed-by': 'dynamic-servers', installation: 'inst0001', 'server-type': 'workers', 'server-id': 'workers-7' },
  });
});

test('a bad declaration or template throws InvalidRequestError before any resource is declared', async () => {
  const { InvalidRequestError } = await import('../../../providers/contract.ts');
  const provider = aws.awsProvider();
  try {
    expect(() => provider.declareServer(declaration({ instanceType: 't3.micro' }))).toThrow(InvalidRequestError);
    expect(() => provider.declareServer(declaration({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro', tags: { 'server-id': 'other' } }))).toThrow(InvalidRequestError);
    expect(() => provider.declareServer({ ...declaration(representative), serverId: '-bad' })).toThrow(InvalidRequestError);
  } finally {
    provider.api.close();
  }
  expect(registered).toEqual([]);
});

test('a template with fallbacks: each offering declares its own instance type and subnet, the rest of the template unchanged', async () => {
  const { offeringTemplate } = await import('../../../providers/contract.ts');
  const { declareServers } = await import('../../../src/engine/declared-servers.ts');
  const template = { ami: { id: 'ami-03cf127a' }, instanceType: 'c7g.large', subnetId: 'subnet-0aa11', keyName: 'ops', fallbacks: [{ subnetId: 'subnet-0bb22' }, { instanceType: 'm7g.large' }] };
  const provider = aws.awsProvider();
  try {
    expect(provider.offerings(template).map((offering) => offering.name)).toEqual(['c7g.large@subnet-0aa11', 'c7g.large@subnet-0bb22', 'm7g.large@subnet-0aa11']);
    expect(offeringTemplate(provider, template, null)).toEqual({ ami: { id: 'ami-03cf127a' }, instanceType: 'c7g.large', subnetId: 'subnet-0aa11', keyName: 'ops' });
    const row = { id: 7, name: 'workers-7', status: 'new', providerId: null, template, offering: 'm7g.large@subnet-0aa11' } as unknown as Parameters<typeof declareServers>[3][number];
    const declared = declareServers(provider, 'workers', 'inst0001', [row, { ...row, name: 'workers-8', offering: 'c7g.large@subnet-0bb22' }, { ...row, name: 'workers-9', offering: 't3.nano' }]);
    await Promise.all(Object.values(declared.providerIds).map(settled));
    expect(declared.failures).toEqual([{ name: 'workers-9', errorClass: 'InvalidRequestError', message: expect.stringMatching(/no offering t3\.nano/) }]);
  } finally {
    provider.api.close();
  }
  expect(registered.map((resource) => [resource.name, resource.inputs.instanceType, resource.inputs.subnetId, resource.inputs.keyName])).toEqual([
    ['workers-7', 'm7g.large', 'subnet-0aa11', 'ops'],
    ['workers-8', 'c7g.large', 'subnet-0bb22', 'ops'],
  ]);
});

test('a fallback that names nothing, an unknown field or a repeated offering is refused', async () => {
  const { InvalidRequestError } = await import('../../../providers/contract.ts');
  const base = { ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro' };
  for (const fallbacks of [[{}], [{ region: 'eu-west-1' }], [{ instanceType: 't3.micro' }], []]) {
    expect(() => aws.awsOfferings({ ...base, fallbacks })).toThrow(InvalidRequestError);
  }
});

test('a server the engine adopts is imported by its cloud id, never created, and inputs the cloud cannot give back are ignored on every server', async () => {
  const provider = aws.awsProvider();
  await settled(provider.declareServer({ ...declaration({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro' }), adopt: 'i-0123456789abcdef0' }).providerId);
  expect(imported).toEqual([{ type: 'aws:ec2/instance:Instance', name: 'workers-7', id: 'i-0123456789abcdef0' }]);
  expect(ignored['workers-7']).toEqual(['ami', 'userData', 'userDataReplaceOnChange', 'instanceMarketOptions']);
  imported = [];
  await settled(provider.declareServer({ ...declaration({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro' }), serverId: 'workers-8' }).providerId);
  expect(imported).toEqual([]);
  expect(ignored['workers-8']).toEqual(['ami', 'userData', 'userDataReplaceOnChange', 'instanceMarketOptions']);
  provider.api.close();
});
