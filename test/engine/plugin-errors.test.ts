// Must-show 4 of issue 15: error texts of the native hcloud and aws plugins (capacity, quota, auth) give the row
// InsufficientCapacityError, QuotaExceededError and ProviderAuthError. The plugins cannot be built here, so a
// stand-in plugin (test/fixtures/replaying-plugin) takes their place on PATH and fails each create with the text the
// real plugin prints for that refusal (the bridged Terraform provider's message around the cloud's own error:
// Hetzner's `message (code, correlation id)`, EC2's `api error Code: message`). Everything else is real: the
// engine's `pulumi up`, the failed step's diagnostic, the provider's parseDeploymentError, the row.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { MotoServer } from '../support/toolchain/moto.ts';
import { publishProject } from '../../src/runtime.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';
import { MOTO_REGION, startMotoForTests } from '../support/moto.ts';
import { tempDir } from '../support/temp-dir.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');
const PLUGIN = join(import.meta.dirname, '..', 'fixtures', 'replaying-plugin', 'plugin.ts');

// The capacity refusal comes last in each list: it marks the offering unavailable on the provider for every type
// (unavailableOfferingSeconds), so a create of the same offering after it would be errored without reaching the plugin.

/** What the bridged hcloud plugin (terraform-provider-hcloud through the Terraform bridge) prints for a refused create. */
const HCLOUD_TEXTS: [string, string][] = [
  ['QuotaExceededError', 'sdk-v2/provider2.go:572: sdk.helper_schema: server limit exceeded for this project (resource_limit_exceeded, 6b34ff946f6f3e38): provider=hcloud@1.41.0'],
  ['ProviderAuthError', 'sdk-v2/provider2.go:572: sdk.helper_schema: unable to authenticate (unauthorized, 3353a2d4b216ba6a): provider=hcloud@1.41.0'],
  ['StackUpdateError', 'sdk-v2/provider2.go:572: sdk.helper_schema: image 1001 is not available in this location: provider=hcloud@1.41.0'],
  ['InsufficientCapacityError', 'sdk-v2/provider2.go:572: sdk.helper_schema: error during placement (resource_unavailable, 1d1d17e504e28a4c): provider=hcloud@1.41.0'],
];

/** What the bridged aws plugin prints for a refused RunInstances. */
const AWS_TEXTS: [string, string][] = [
  [
    'QuotaExceededError',
    'sdk-v2/provider2.go:572: sdk.helper_schema: creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 400, RequestID: 1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d, api error VcpuLimitExceeded: You have requested more vCPU capacity than your current vCPU limit of 32 allows for the instance bucket that the specified instance type belongs to.: provider=aws@7.48.0',
  ],
  [
    'ProviderAuthError',
    'sdk-v2/provider2.go:572: sdk.helper_schema: creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 403, RequestID: 2b3c4d5e-6f7a-4b1c-9d2e-3f4a5b6c7d8e, api error UnauthorizedOperation: You are not authorized to perform this operation.: provider=aws@7.48.0',
  ],
  ['StackUpdateError', 'sdk-v2/provider2.go:572: sdk.helper_schema: creating EC2 Instance: waiting for EC2 Instance create: timeout while waiting for state to become running: provider=aws@7.48.0'],
  [
    'InsufficientCapacityError',
    'sdk-v2/provider2.go:572: sdk.helper_schema: creating EC2 Instance: operation error EC2: RunInstances, https response error StatusCode: 500, RequestID: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b, api error InsufficientInstanceCapacity: We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (eu-central-1a).: provider=aws@7.48.0',
  ],
];

let pluginDir: Awaited<ReturnType<typeof tempDir>>;
let moto: MotoServer;

beforeAll(async () => {
  pluginDir = await tempDir('replaying-plugins');
  for (const [name, version] of [['hcloud', '1.41.0'], ['aws', '7.48.0']]) {
    const path = join(pluginDir.path, `pulumi-resource-${name}`);
    await writeFile(path, `#!/bin/sh\nexec '${process.execPath}' '${PLUGIN}' ${version} "$@"\n`);
    await chmod(path, 0o755);
  }
  moto = await startMotoForTests();
}, 120_000);

afterAll(async () => {
  await moto?.stop();
  await pluginDir?.remove();
});

/**
 * For each text: a server type of its own (a copy of the world's stack file, secrets included, so a failed create
 * of one text does not put the next one's creates under the type's back-off), a new row, `dynamic-servers
 * reconcile` with the stand-in plugin failing its create with the text; the row's error.
 */
async function replay(world: EngineWorld, texts: [string, string][]) {
  const stacks = join(world.projectDir, 'stacks');
  const types = texts.map((_, index) => `refused-${index}`);
  for (const type of types) await copyFile(join(stacks, 'Pulumi.demo.yaml'), join(stacks, `Pulumi.${type}.yaml`));
  await publishProject(world.records, world.projectDir);
  const seen: { expected: string; status: string; errorClass: string | undefined; carriesText: boolean }[] = [];
  for (const [index, [expected, text]] of texts.entries()) {
    const { createdServerIds } = await world.records.increase(types[index]!);
    const env = { ...world.cliEnv, PATH: `${pluginDir.path}${delimiter}${world.cliEnv.PATH}`, REPLAYED_PLUGIN_ERROR: text };
    const run = await runCommand(process.execPath, [CLI, 'reconcile', types[index]!], { env });
    expect({ code: run.code, stderr: run.stderr.slice(-1500) }).toEqual({ code: 0, stderr: '' });
    const row = await world.records.server(createdServerIds[0]!);
    seen.push({ expected, status: row.status, errorClass: row.lastError?.class, carriesText: row.lastError?.message.includes(text.slice(-60)) ?? false });
  }
  return seen;
}

describe('hcloud', () => {
  let world: EngineWorld;
  beforeAll(async () => {
    world = await startEngineWorld({ provider: 'hcloud', token: randomBytes(32).toString('hex') });
  });
  afterAll(async () => {
    await world?.close();
  });

  test('the plugin’s capacity, quota and auth refusals give the row InsufficientCapacityError, QuotaExceededError and ProviderAuthError', async () => {
    const seen = await replay(world, HCLOUD_TEXTS);
    process.stdout.write(`hcloud plugin texts: ${JSON.stringify(seen)}\n`);
    expect(seen).toEqual(HCLOUD_TEXTS.map(([expected]) => ({ expected, status: 'errored', errorClass: expected, carriesText: true })));
  });
});

describe('aws', () => {
  let world: EngineWorld;
  beforeAll(async () => {
    world = await startEngineWorld({ provider: 'aws', awsEndpoint: moto.endpoint, awsRegion: MOTO_REGION });
  });
  afterAll(async () => {
    await world?.close();
  });

  test('the plugin’s capacity, quota and auth refusals give the row InsufficientCapacityError, QuotaExceededError and ProviderAuthError', async () => {
    const seen = await replay(world, AWS_TEXTS);
    process.stdout.write(`aws plugin texts: ${JSON.stringify(seen)}\n`);
    expect(seen).toEqual(AWS_TEXTS.map(([expected]) => ({ expected, status: 'errored', errorClass: expected, carriesText: true })));
  });
});
