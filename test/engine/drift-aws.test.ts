// Drift on AWS, at the API level (the AWS Pulumi plugin cannot run here): the drift check housekeeping runs, with
// the aws provider's API against moto. Instances are launched through the API as `pulumi up` would, recorded
// running; one is terminated and one stopped behind the engine's back with the AWS SDK. The check records the
// terminated one deleted with a reason naming the cloud, replaces the stopped one, and asks for replacements so the
// count equals the desired count again. Prints the detection times.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { EC2Client, StopInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { serverLabels } from '../../providers/contract.ts';
import { awsProvider, parseAwsTemplate } from '../../providers/aws/index.ts';
import { detectDrift } from '../../src/engine/drift.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import type { ServerRecord } from '../../src/records/records.ts';
import type { MotoServer } from '../support/toolchain/moto.ts';
import { MOTO_REGION, startMotoForTests } from '../support/moto.ts';
import { publishTypes } from '../support/published-types.ts';
import { startRecordsDatabase, type RecordsDatabase } from '../records/support/records-database.ts';

const TEMPLATE = { ami: { id: 'ami-03cf127a' }, instanceType: 't3.micro' };

let moto: MotoServer;
let database: RecordsDatabase;
let records: EngineRecords;
let provider: ReturnType<typeof awsProvider>;
let ec2: EC2Client;

beforeAll(async () => {
  moto = await startMotoForTests();
  database = await startRecordsDatabase('drift_aws');
  await publishTypes(database.url, { ec2: { provider: 'aws', template: TEMPLATE } });
  records = await EngineRecords.openForEngine({ databaseUrl: database.url });
  provider = awsProvider({ region: MOTO_REGION, endpoint: moto.endpoint });
  ec2 = new EC2Client({ region: MOTO_REGION, endpoint: moto.endpoint });
});

afterAll(async () => {
  ec2?.destroy();
  provider?.api.close();
  await records?.close();
  await database?.stop();
  await moto?.stop();
});

/** Launches the instance of each new row through the EC2 API, as `pulumi up` would, and records it running. */
async function launchNewRows(): Promise<void> {
  for (const row of await records.servers({ serverType: 'ec2', status: 'new' })) {
    const declaration = { installation: records.installationId, serverId: row.name, serverType: 'ec2', template: row.template };
    const instance = await provider.api.createServer({ name: row.name, labels: serverLabels(declaration), template: parseAwsTemplate(row.template) });
    await records.recordTransition(row.id, 'starting', { reason: 'launched', providerId: instance.providerId });
    await records.recordTransition(row.id, 'running', { reason: 'EC2 reports it running' });
  }
}

const check = () => detectDrift(records, async () => provider, 'ec2');

test('a terminated instance is recorded deleted and replaced; a stopped one is replaced; nothing else is touched', async () => {
  await records.ensure('ec2', 3);
  await launchNewRows();
  const [terminated, stopped, untouched] = (await records.servers({ serverType: 'ec2', status: 'running' })) as [ServerRecord, ServerRecord, ServerRecord];

  // Nothing drifted: one list call, nothing recorded.
  expect(await check()).toEqual({ serverType: 'ec2', gone: [], stopped: [], cloudCalls: 1 });

  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [terminated.providerId!] }));
  await ec2.send(new StopInstancesCommand({ InstanceIds: [stopped.providerId!] }));
  for (;;) {
    const state = (await provider.api.observe(stopped.providerId!)).status;
    if (state === 'stopped') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const startedAt = Date.now();
  const report = await check();
  const tookMs = Date.now() - startedAt;
  // One list, and one observe of the instance missing from it: the not-found answer that proves the termination.
  expect(report).toEqual({ serverType: 'ec2', gone: [terminated.name], stopped: [stopped.name], cloudCalls: 2 });
  expect(await records.server(terminated.id)).toMatchObject({ status: 'deleted', providerId: terminated.providerId });
  expect((await records.statusHistory(terminated.id)).at(-1)).toMatchObject({ from: 'running', to: 'deleted', reason: 'the aws cloud no longer has it (deleted outside the engine)' });
  expect((await records.statusHistory(stopped.id)).at(-1)).toMatchObject({ from: 'running', to: 'stopping', reason: 'the aws cloud reports it stopped: replaced by a new server' });
  expect(await records.server(untouched.id)).toMatchObject({ status: 'running' });

  // The replacements: new rows (created by the next pulumi up), so the count equals the desired count again.
  const replacements = await records.servers({ serverType: 'ec2', status: 'new' });
  expect(replacements).toHaveLength(2);
  expect(await records.provisionedCount('ec2')).toBe(3);
  expect((await records.desiredState('ec2')).desiredCount).toBe(3);
  await launchNewRows();
  expect(await check()).toEqual({ serverType: 'ec2', gone: [], stopped: [], cloudCalls: 1 });
  expect(await records.servers({ serverType: 'ec2', status: 'running' })).toHaveLength(3);
  process.stdout.write(`drift (aws through moto): one check found the terminated and the stopped instance in ${tookMs} ms (${report.cloudCalls} EC2 calls)\n`);
});
