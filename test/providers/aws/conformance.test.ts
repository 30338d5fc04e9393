// Must-show 2: the AWS provider's API side passes the conformance suite's steps against moto (launching and
// terminating through the EC2 API, as the AWS Pulumi plugin cannot run here), reboot and stop included. moto is
// installed by the project's toolchain, started on a port the kernel picked and stopped after the suite.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { randomBytes } from 'node:crypto';
import { conformanceSuite } from '../../../providers/conformance.ts';
import { serverLabels, serverName } from '../../../providers/contract.ts';
import { awsProvider, parseAwsTemplate } from '../../../providers/aws/index.ts';
import type { MotoServer } from '../../support/toolchain/moto.ts';
import { apiDeployment } from '../../support/api-deployment.ts';
import { MOTO_REGION, startMotoForTests } from '../../support/moto.ts';

const serverType = `conformance-${randomBytes(3).toString('hex')}`;
const template = { ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro', tags: { team: 'queue' }, userData: '#!/bin/sh\necho ready\n' };

let moto: MotoServer;
let provider: ReturnType<typeof awsProvider>;

beforeAll(async () => {
  moto = await startMotoForTests();
  provider = awsProvider({ region: MOTO_REGION, endpoint: moto.endpoint });
});

afterAll(async () => {
  provider?.api.close();
  await moto?.stop();
});

const deployment = apiDeployment({
  create: async (declaration) => (await provider.api.createServer({ name: serverName(declaration), labels: serverLabels(declaration), template: parseAwsTemplate(declaration.template) })).providerId,
  delete: (providerId) => provider.api.delete(providerId),
});

const steps = conformanceSuite(() => ({ provider, deployment, template, serverType, pollIntervalMs: 50, stepTimeoutMs: 30_000 }));
const afterCreation = steps.findIndex((step) => step.name.startsWith('a repeated up')) + 1;

for (const step of steps.slice(0, afterCreation)) test(step.name, () => step.run());

test('while it exists, the instance was launched with the template’s AMI, type, tags and user data', async () => {
  const ec2 = new EC2Client({ region: MOTO_REGION, endpoint: moto.endpoint });
  try {
    const answer = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:server-type', Values: [serverType] }] }));
    const instances = answer.Reservations?.flatMap((reservation) => reservation.Instances ?? []) ?? [];
    expect(instances).toHaveLength(1);
    const [instance] = instances;
    expect(instance!.ImageId).toBe('ami-03cf127a');
    expect(instance!.InstanceType).toBe('t3.micro');
    expect(Object.fromEntries((instance!.Tags ?? []).map((tag) => [tag.Key, tag.Value]))).toEqual({
      team: 'queue',
      Name: `${serverType}-1`,
      'managed-by': 'dynamic-servers',
      installation: 'conformance',
      'server-type': serverType,
      'server-id': `${serverType}-1`,
    });
    const userData = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instance!.InstanceId!, Attribute: 'userData' }));
    expect(Buffer.from(userData.UserData?.Value ?? '', 'base64').toString('utf8')).toBe('#!/bin/sh\necho ready\n');
  } finally {
    ec2.destroy();
  }
});

for (const step of steps.slice(afterCreation)) test(step.name, () => step.run());
