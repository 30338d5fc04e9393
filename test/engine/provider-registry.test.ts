// Stack files name their provider; the registry builds it from the stack's config namespace or the standard
// environment variables, and refuses an unknown name or a missing credential with a typed error.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ProviderConfigurationError } from '../../src/engine/errors.ts';
import { createProvider, PROVIDER_NAMES } from '../../src/engine/provider-registry.ts';
import { serverIdSelector } from '../../providers/contract.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';

const TOKEN = 'registry-test-token';
let hcloud: LocalCloud;

beforeAll(async () => {
  hcloud = await startLocalCloud({ profile: 'strict', token: TOKEN });
});

afterAll(async () => {
  await hcloud?.stop();
});

test('every provider module is available to stack files', () => {
  expect(PROVIDER_NAMES.sort()).toEqual(['aws', 'fake', 'hcloud', 'local']);
});

test('hcloud takes its token and endpoint from the stack config, and its API side uses them', async () => {
  const provider = createProvider('hcloud', { 'hcloud:token': TOKEN, 'hcloud:endpoint': hcloud.url }, '/unused', {});
  expect(provider.name).toBe('hcloud');
  expect(await provider.api.list(serverIdSelector('inst0001', 'demo-1'))).toEqual([]);
  expect(hcloud.requests().at(-1)).toMatchObject({ method: 'GET', status: 200 });
  expect(hcloud.requests().at(-1)!.path).toContain('label_selector=');
});

test('hcloud falls back to HCLOUD_TOKEN and HCLOUD_ENDPOINT, and without a token names both places', async () => {
  const fromEnv = createProvider('hcloud', {}, '/unused', { HCLOUD_TOKEN: TOKEN, HCLOUD_ENDPOINT: hcloud.url });
  expect(await fromEnv.api.list(serverIdSelector('inst0001', 'demo-2'))).toEqual([]);
  expect(() => createProvider('hcloud', {}, '/unused', {})).toThrow(ProviderConfigurationError);
  expect(() => createProvider('hcloud', {}, '/unused', {})).toThrow('provider "hcloud" needs hcloud:token in the stack config or HCLOUD_TOKEN in the environment');
});

test('aws takes its region from aws:region or AWS_REGION; an unknown provider is refused', () => {
  expect(createProvider('aws', { 'aws:region': 'eu-central-1' }, '/unused', {}).name).toBe('aws');
  expect(createProvider('aws', {}, '/unused', { AWS_REGION: 'eu-west-1' }).name).toBe('aws');
  expect(() => createProvider('gcp', {}, '/unused', {})).toThrow(ProviderConfigurationError);
  expect(() => createProvider('gcp', {}, '/unused', {})).toThrow('unknown provider "gcp"; expected one of');
});
