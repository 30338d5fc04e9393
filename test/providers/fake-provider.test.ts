// The fake provider's controls, on its API side: one-shot errors of every kind, and the endless variants.
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import {
  InsufficientCapacityError,
  InvalidRequestError,
  observeStatus,
  ProviderAuthError,
  QuotaExceededError,
  ServerNotFoundError,
  TransientProviderError,
  UnexpectedResponseError,
  type ProviderErrorKind,
} from '../../providers/contract.ts';
import { FakeCloud } from '../../providers/fake/index.ts';
import { tempDir } from '../support/temp-dir.ts';

let work: Awaited<ReturnType<typeof tempDir>>;
let cloud: FakeCloud;

const spec = (serverId: string) => ({
  name: serverId,
  labels: { 'managed-by': 'dynamic-servers', 'server-type': 'worker', 'server-id': serverId },
  template: { snapshot: 'any' },
});

beforeEach(async () => {
  work = await tempDir('fake-provider');
  cloud = new FakeCloud(work.path);
});

afterEach(async () => {
  await work.remove();
});

test('a one-shot error strikes the next call of its operation only, once, whichever instance makes it', async () => {
  const { providerId } = await cloud.create(spec('a1'));
  cloud.injectOnce('observe', 'transient');
  expect(cloud.pendingFaults('observe')).toBe(1);
  await expect(cloud.list({})).resolves.toHaveLength(1);
  await expect(new FakeCloud(work.path).observe(providerId)).rejects.toBeInstanceOf(TransientProviderError);
  expect(cloud.pendingFaults('observe')).toBe(0);
  await expect(cloud.observe(providerId)).resolves.toMatchObject({ status: 'running' });
});

test.each<{ kind: ProviderErrorKind; errorClass: new (...args: never[]) => Error }>([
  { kind: 'not-found', errorClass: ServerNotFoundError },
  { kind: 'insufficient-capacity', errorClass: InsufficientCapacityError },
  { kind: 'quota-exceeded', errorClass: QuotaExceededError },
  { kind: 'transient', errorClass: TransientProviderError },
  { kind: 'unauthorized', errorClass: ProviderAuthError },
  { kind: 'invalid-request', errorClass: InvalidRequestError },
  { kind: 'unexpected-response', errorClass: UnexpectedResponseError },
])('an injected $kind error throws $errorClass.name and the create does nothing', async ({ kind, errorClass }) => {
  cloud.injectOnce('create', kind);
  await expect(cloud.create(spec('a1'))).rejects.toBeInstanceOf(errorClass);
  expect(cloud.servers()).toEqual([]);
});

test('create is idempotent by the server-id label', async () => {
  const first = await cloud.create(spec('a1'));
  const again = await new FakeCloud(work.path).create(spec('a1'));
  expect(again.providerId).toBe(first.providerId);
  expect(cloud.servers()).toHaveLength(1);
  await expect(cloud.create({ ...spec('a2'), labels: {} })).rejects.toBeInstanceOf(InvalidRequestError);
});

test('without endless variants every step ends; each variant keeps its step forever', async () => {
  const normal = await cloud.create(spec('normal'));
  expect(await observeStatus(cloud, normal.providerId)).toBe('running');

  cloud.setBehaviour({ endless: ['never-starts'] });
  const stuck = await cloud.create(spec('never-starts'));
  expect(await observeStatus(cloud, stuck.providerId)).toBe('starting');
  expect(cloud.servers().find((server) => server.id === stuck.providerId)?.phaseMs).toBeNull();

  cloud.setBehaviour({ endless: ['never-stops'] });
  await cloud.stop(normal.providerId);
  expect(await observeStatus(cloud, normal.providerId)).toBe('stopping');

  cloud.setBehaviour({ endless: ['never-deleted'] });
  await cloud.delete(stuck.providerId);
  expect(await observeStatus(cloud, stuck.providerId)).toBe('deleting');
  expect((await cloud.list({ 'server-id': 'never-starts' })).map((server) => server.status)).toEqual(['deleting']);

  cloud.setBehaviour({ endless: [] });
  const other = await cloud.create(spec('other'));
  await cloud.delete(other.providerId);
  expect(await observeStatus(cloud, other.providerId)).toBe('deleted');
});

test('steps with delays report their transitional status until the delay passed', async () => {
  cloud.setBehaviour({ delays: { starting: 60_000, stopping: 0, rebooting: 0, deleting: 0 } });
  const server = await cloud.create(spec('slow'));
  expect(await observeStatus(cloud, server.providerId)).toBe('starting');
  await expect(cloud.reboot(server.providerId)).rejects.toBeInstanceOf(InvalidRequestError);
  await expect(cloud.observe('not-an-id')).rejects.toBeInstanceOf(InvalidRequestError);
});
