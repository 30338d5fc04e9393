// The AWS API side beyond the conformance suite: the AMI chosen by tags, terminated instances as not found,
// malformed ids refused before any call, credentials only from the standard chain, spot requests, and the EC2
// error codes (capacity, quota, throttling, credentials) as the contract's typed errors.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CreateImageCommand, CreateTagsCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import {
  InsufficientCapacityError,
  InvalidRequestError,
  ProviderAuthError,
  QuotaExceededError,
  ServerNotFoundError,
  TransientProviderError,
  type Labels,
} from '../../../providers/contract.ts';
import { AwsApiClient, awsErrorFromText, awsProvider, errorFromAws, parseAwsTemplate, runInstancesInput } from '../../../providers/aws/index.ts';
import type { MotoServer } from '../../support/toolchain/moto.ts';
import { MOTO_REGION, startMotoForTests } from '../../support/moto.ts';

let moto: MotoServer;
let client: AwsApiClient;

const labelsOf = (serverId: string): Labels => ({ 'managed-by': 'dynamic-servers', 'server-type': 'api-client', 'server-id': serverId });

beforeAll(async () => {
  moto = await startMotoForTests();
  client = new AwsApiClient({ region: MOTO_REGION, endpoint: moto.endpoint });
});

afterAll(async () => {
  client?.close();
  await moto?.stop();
});

function serviceError(name: string, httpStatusCode: number): EC2ServiceException {
  return new EC2ServiceException({ name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode }, message: `${name} happened` });
}

test('an AMI selector launches from the newest available AMI carrying the tags (owned by this account)', async () => {
  const builder = await client.createServer({ name: 'builder', labels: labelsOf('builder'), template: parseAwsTemplate({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro' }) });
  const ec2 = new EC2Client({ region: MOTO_REGION, endpoint: moto.endpoint });
  try {
    const images: string[] = [];
    for (const name of ['worker-1', 'worker-2']) {
      const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: builder.providerId, Name: name }));
      await ec2.send(new CreateTagsCommand({ Resources: [ImageId!], Tags: [{ Key: 'role', Value: 'worker' }] }));
      images.push(ImageId!);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    expect(await client.resolveAmi({ selector: { role: 'worker' } })).toBe(images[1]);
    await expect(client.resolveAmi({ selector: { role: 'nothing' } })).rejects.toBeInstanceOf(InvalidRequestError);
  } finally {
    ec2.destroy();
    await client.delete(builder.providerId);
  }
});

test('a terminated instance is not found, is left out of lists, and deleting it again is done', async () => {
  const server = await client.createServer({ name: 'short-lived', labels: labelsOf('short-lived'), template: parseAwsTemplate({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro' }) });
  expect((await client.list(labelsOf('short-lived'))).map((found) => found.providerId)).toEqual([server.providerId]);
  await client.delete(server.providerId);
  await expect(client.observe(server.providerId)).rejects.toBeInstanceOf(ServerNotFoundError);
  expect(await client.list(labelsOf('short-lived'))).toEqual([]);
  await expect(client.delete(server.providerId)).resolves.toBeUndefined();
});

test('an unknown instance is ServerNotFoundError for observe and reboot; a malformed id is InvalidRequestError before any call', async () => {
  await expect(client.observe('i-0123456789abcdef0')).rejects.toBeInstanceOf(ServerNotFoundError);
  await expect(client.reboot('i-0123456789abcdef0')).rejects.toBeInstanceOf(ServerNotFoundError);
  await expect(client.observe('web-1')).rejects.toBeInstanceOf(InvalidRequestError);
  await expect(client.stop('i-nothex')).rejects.toBeInstanceOf(InvalidRequestError);
});

test('credentials come only from the standard chain: without any, every call is ProviderAuthError', async () => {
  const saved = { ...process.env };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[name];
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
  process.env.AWS_CONFIG_FILE = '/nonexistent/config';
  const bare = new AwsApiClient({ region: MOTO_REGION, endpoint: moto.endpoint, maxAttempts: 1 });
  try {
    const failure = await bare.list(labelsOf('x')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProviderAuthError);
  } finally {
    bare.close();
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
});

test('EC2 error codes become the typed errors the engine acts on', () => {
  expect(errorFromAws('RunInstances', serviceError('InsufficientInstanceCapacity', 500))).toBeInstanceOf(InsufficientCapacityError);
  expect(errorFromAws('RunInstances', serviceError('InsufficientInstanceCapacity', 500)).cloudCode).toBe('InsufficientInstanceCapacity');
  expect(errorFromAws('RunInstances', serviceError('InstanceLimitExceeded', 400))).toBeInstanceOf(QuotaExceededError);
  expect(errorFromAws('RunInstances', serviceError('VcpuLimitExceeded', 400))).toBeInstanceOf(QuotaExceededError);
  expect(errorFromAws('RunInstances', serviceError('MaxSpotInstanceCountExceeded', 400))).toBeInstanceOf(QuotaExceededError);
  expect(errorFromAws('DescribeInstances', serviceError('RequestLimitExceeded', 503))).toBeInstanceOf(TransientProviderError);
  expect(errorFromAws('DescribeInstances', serviceError('AuthFailure', 401))).toBeInstanceOf(ProviderAuthError);
  expect(errorFromAws('DescribeInstances', serviceError('UnauthorizedOperation', 403))).toBeInstanceOf(ProviderAuthError);
  expect(errorFromAws('RunInstances', serviceError('InvalidAMIID.NotFound', 400))).toBeInstanceOf(InvalidRequestError);
  expect(errorFromAws('DescribeInstances', serviceError('InvalidInstanceID.NotFound', 400))).toBeInstanceOf(ServerNotFoundError);
  expect(errorFromAws('DescribeInstances', Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }))).toBeInstanceOf(TransientProviderError);
});

test('a failed up of the AWS plugin is read back as the typed error its EC2 code names', () => {
  const text = 'error: creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 500, api error InsufficientInstanceCapacity: We currently do not have sufficient t3.micro capacity';
  expect(awsErrorFromText(text)).toBeInstanceOf(InsufficientCapacityError);
  expect(awsErrorFromText('api error VcpuLimitExceeded: You have requested more vCPU capacity')).toBeInstanceOf(QuotaExceededError);
  expect(awsErrorFromText('error: some unrelated failure')).toBeUndefined();
});

test('RunInstances carries the whole template: AMI, type, subnet, groups, key pair, tags, base64 user data and a spot request', () => {
  const template = parseAwsTemplate({
    ami: { id: 'ami-0abc12345def67890' },
    instanceType: 'c7g.large',
    subnetId: 'subnet-0aa11',
    securityGroupIds: ['sg-0bb22'],
    keyName: 'ops',
    tags: { team: 'queue' },
    userData: '#!/bin/sh\n',
    spot: { maxPrice: '0.05', interruptionBehavior: 'stop' },
  });
  expect(runInstancesInput({ name: 'w-1', labels: labelsOf('w-1'), template }, 'ami-0abc12345def67890', 'token-1')).toEqual({
    ImageId: 'ami-0abc12345def67890',
    InstanceType: 'c7g.large',
    MinCount: 1,
    MaxCount: 1,
    ClientToken: 'token-1',
    TagSpecifications: [{ ResourceType: 'instance', Tags: [
      { Key: 'team', Value: 'queue' },
      { Key: 'Name', Value: 'w-1' },
      { Key: 'managed-by', Value: 'dynamic-servers' },
      { Key: 'server-type', Value: 'api-client' },
      { Key: 'server-id', Value: 'w-1' },
    ] }],
    SubnetId: 'subnet-0aa11',
    SecurityGroupIds: ['sg-0bb22'],
    KeyName: 'ops',
    UserData: Buffer.from('#!/bin/sh\n').toString('base64'),
    InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { MaxPrice: '0.05', InstanceInterruptionBehavior: 'stop', SpotInstanceType: 'persistent' } },
  });
});

test('templates: unknown fields, the project’s own tags and a region other than the provider’s are refused', () => {
  const provider = awsProvider({ region: MOTO_REGION, endpoint: moto.endpoint });
  try {
    expect(() => provider.checkTemplate({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro', colour: 'red' })).toThrow(InvalidRequestError);
    expect(() => provider.checkTemplate({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro', tags: { Name: 'x' } })).toThrow(InvalidRequestError);
    expect(() => provider.checkTemplate({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro', region: 'us-east-1' })).toThrow(InvalidRequestError);
    expect(() => provider.checkTemplate({ ami: { id: 'not-an-ami' }, instanceType: 't3.micro' })).toThrow(InvalidRequestError);
    expect(() => provider.checkTemplate({ ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro', region: MOTO_REGION })).not.toThrow();
  } finally {
    provider.api.close();
  }
});
