// The hcloud API side against the local cloud in its strict profile (token required, Hetzner's names), beyond the
// conformance suite: every documented status, pagination, the rate limit (waits computed from RateLimit-*
// headers, no request spent on a 429 it could foresee), the typed errors of the documented error codes, action
// polling before a graceful delete, and the token kept out of every error.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import {
  InsufficientCapacityError,
  InvalidRequestError,
  ProviderAuthError,
  ProviderError,
  QuotaExceededError,
  ServerNotFoundError,
  TransientProviderError,
  UnexpectedResponseError,
  type Labels,
} from '../../../providers/contract.ts';
import { hcloudApiClient, hcloudCreateSpec, HETZNER_STATUS_MAPPING, hcloudErrorFromText, parseHcloudTemplate, type HcloudApiOptions, type HetznerApiClient } from '../../../providers/hcloud/index.ts';
import { startLocalCloud, type LocalCloud } from '../../../src/local-cloud/local-cloud.ts';
import type { LocalCloudOptions } from '../../../src/local-cloud/options.ts';
import { HETZNER_SERVER_STATUSES } from '../../../src/local-cloud/state-machine.ts';

const TOKEN = randomBytes(24).toString('hex');
/** The snapshot servers boot from: the cloud numbers its snapshots from 1001. */
const template = parseHcloudTemplate({ snapshot: { id: 1001 }, serverType: 'cx22', location: 'nbg1' });
/** Steps that end at once, unless a test makes one last. */
const INSTANT = { initializing: 0, starting: 0, stopping: 0, rebooting: 0, deleting: 0 };

let api: LocalCloud;

/** A local cloud in the strict profile (stopped after the test file). */
async function strictCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const cloud = await startLocalCloud({ profile: 'strict', token: TOKEN, delays: INSTANT, ...options });
  clouds.push(cloud);
  return cloud;
}
const clouds: LocalCloud[] = [];

function client(options: HcloudApiOptions = {}): HetznerApiClient {
  return hcloudApiClient({ endpoint: api.url, token: TOKEN, backoffMs: 5, maxBackoffMs: 20, actionPollMs: 10, ...options });
}

const labelsOf = (serverId: string, extra: Labels = {}): Labels => ({ 'managed-by': 'dynamic-servers', 'server-type': 'api-client', 'server-id': serverId, ...extra });

async function create(serverId: string, extra: Labels = {}, on: HetznerApiClient = client()): Promise<string> {
  return (await on.createServer(hcloudCreateSpec(serverId, labelsOf(serverId, extra), template))).providerId;
}

/** The requests `cloud` answered from index `from` on. */
const requestsSince = (cloud: LocalCloud, from: number) => cloud.requests().slice(from);

beforeAll(async () => {
  api = await strictCloud({ capacity: 1000 });
});

afterAll(async () => {
  await Promise.all(clouds.map((cloud) => cloud.stop()));
});

test('observe maps every status the API documents, and refuses one it does not', async () => {
  const id = await create('statuses');
  const seen: Record<string, string> = {};
  for (const status of HETZNER_SERVER_STATUSES) {
    api.setServerStatus(Number(id), status);
    const server = await client().observe(id);
    seen[status] = server.status;
    expect(server.cloudStatus).toBe(status);
  }
  expect(seen).toEqual(HETZNER_STATUS_MAPPING);
  expect(Object.keys(HETZNER_STATUS_MAPPING).sort()).toEqual([...HETZNER_SERVER_STATUSES].sort());
  api.setServerStatus(Number(id), 'exploding');
  await expect(client().observe(id)).rejects.toBeInstanceOf(UnexpectedResponseError);
  api.setServerStatus(Number(id), 'running');
});

test('observe reports a running server with a running reboot action as rebooting, and running once it finished', async () => {
  const clock = { now: 1_800_000_000_000 };
  const clocked = await strictCloud({ now: () => clock.now });
  const on = (options: HcloudApiOptions = {}) => client({ endpoint: clocked.url, ...options });
  const id = await create('rebooter', {}, on());
  clocked.updateSettings({ delays: { rebooting: 60_000 } });
  await on().reboot(id);
  expect((await on().observe(id)).status).toBe('rebooting');
  expect((await on({ watchActions: false }).observe(id)).status).toBe('running');
  clock.now += 60_000;
  expect((await on().observe(id)).status).toBe('running');
});

test('list reads every page (50 per page) and only servers carrying all the labels', async () => {
  for (let index = 0; index < 120; index += 1) await create(`paged-${index}`, { batch: 'b1' });
  await create('other-batch', { batch: 'b2' });
  const before = api.requests().length;
  const listed = await client().list({ batch: 'b1' });
  expect(listed).toHaveLength(120);
  expect(new Set(listed.map((server) => server.name)).size).toBe(120);
  const pages = requestsSince(api, before).map((request) => new URL(request.path, 'http://x').searchParams);
  expect(pages.map((query) => [query.get('page'), query.get('per_page'), query.get('label_selector')])).toEqual([
    ['1', '50', 'batch=b1'],
    ['2', '50', 'batch=b1'],
    ['3', '50', 'batch=b1'],
  ]);
});

test('a 429 is retried after the time one request takes to refill, read from the RateLimit-* headers', async () => {
  const clock = { now: 1_700_000_000_000 };
  const limited = await strictCloud({ rateLimit: { limit: 3, refillPerSecond: 1 }, now: () => clock.now });
  const waits: number[] = [];
  const paced = hcloudApiClient({
    endpoint: limited.url,
    token: TOKEN,
    now: () => clock.now,
    sleep: async (ms) => {
      waits.push(ms);
      clock.now += ms;
    },
  });
  limited.setRateLimitRemaining(0);
  expect(await paced.list({ any: 'thing' })).toEqual([]);
  expect(limited.requests().map((request) => request.status)).toEqual([429, 200]);
  expect(limited.requests()[0]!.code).toBe('rate_limit_exceeded');
  expect(waits).toEqual([1000]);
});

test('a client that saw the budget run out waits for the refill instead of spending a request on a 429', async () => {
  const clock = { now: 1_700_000_000_000 };
  const limited = await strictCloud({ rateLimit: { limit: 4, refillPerSecond: 2 }, now: () => clock.now });
  const waits: number[] = [];
  const paced = hcloudApiClient({ endpoint: limited.url, token: TOKEN, now: () => clock.now, sleep: async (ms) => void (waits.push(ms), (clock.now += ms)) });
  limited.setRateLimitRemaining(1);
  await paced.list({ any: 'thing' });
  await paced.list({ any: 'thing' });
  expect(limited.requests().map((request) => request.status)).toEqual([200, 200]);
  expect(waits).toEqual([500]);
});

test('a rate limit longer than the client waits for goes to the caller as TransientProviderError with the wait', async () => {
  const clock = { now: 1_700_000_000_000 };
  const limited = await strictCloud({ now: () => clock.now });
  const paced = hcloudApiClient({ endpoint: limited.url, token: TOKEN, now: () => clock.now, maxRetryAfterMs: 500, sleep: async () => {} });
  limited.setRateLimitRemaining(0);
  const failure = await paced.list({ any: 'thing' }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(TransientProviderError);
  expect((failure as TransientProviderError).retryAfterMs).toBe(1000);
  expect((failure as TransientProviderError).cloudCode).toBe('rate_limit_exceeded');
  expect(limited.requests()).toHaveLength(1);
});

test('capacity and quota answers are InsufficientCapacityError and QuotaExceededError, and create nothing', async () => {
  const before = api.inspect().servers.length;
  api.updateSettings({ capacity: before });
  await expect(create('no-room')).rejects.toBeInstanceOf(InsufficientCapacityError);
  api.updateSettings({ capacity: 1000 });
  api.failNext({ count: 1, code: 'placement_error', message: 'error during placement', match: { method: 'POST', pathPrefix: '/servers' } });
  await expect(create('no-placement')).rejects.toBeInstanceOf(InsufficientCapacityError);
  api.updateSettings({ quota: before });
  const failure = await create('over-limit').catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(QuotaExceededError);
  expect((failure as QuotaExceededError).httpStatus).toBe(403);
  expect((failure as QuotaExceededError).cloudCode).toBe('resource_limit_exceeded');
  api.updateSettings({ quota: null });
  expect(api.inspect().servers).toHaveLength(before);
});

test('only a 404 not_found of a server is ServerNotFoundError; a 404 on a list, a 500 or a 401 never is', async () => {
  await expect(client().observe('999999')).rejects.toBeInstanceOf(ServerNotFoundError);
  const wrongBase = hcloudApiClient({ endpoint: api.url.replace(/\/v1$/, ''), token: TOKEN });
  await expect(wrongBase.list({ a: 'b' })).rejects.toBeInstanceOf(UnexpectedResponseError);
  const id = await create('errors');
  api.failNext({ count: 3, code: 'server_error', match: { method: 'GET', pathPrefix: `/servers/${id}` } });
  await expect(client({ retries: 1 }).observe(id)).rejects.toBeInstanceOf(TransientProviderError);
  expect((await client({ retries: 1 }).observe(id)).providerId).toBe(id);
  await expect(client().observe('not-an-id')).rejects.toBeInstanceOf(InvalidRequestError);
});

test('a rejected token is ProviderAuthError, and no error carries the token', async () => {
  const wrongToken = randomBytes(24).toString('hex');
  const failures = await Promise.all([
    hcloudApiClient({ endpoint: api.url, token: wrongToken }).list({ a: 'b' }).catch((error: unknown) => error),
    hcloudApiClient({ endpoint: 'http://127.0.0.1:1/v1', token: wrongToken, retries: 0 }).list({ a: 'b' }).catch((error: unknown) => error),
  ]);
  expect(failures[0]).toBeInstanceOf(ProviderAuthError);
  expect((failures[0] as ProviderAuthError).httpStatus).toBe(401);
  expect(failures[1]).toBeInstanceOf(TransientProviderError);
  for (const failure of failures) {
    expect(failure).toBeInstanceOf(ProviderError);
    for (let error: unknown = failure; error instanceof Error; error = error.cause) {
      expect(`${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`).not.toContain(wrongToken);
    }
  }
  const saved = process.env.HCLOUD_TOKEN;
  delete process.env.HCLOUD_TOKEN;
  try {
    const before = api.requests().length;
    await expect(hcloudApiClient({ endpoint: api.url }).list({ a: 'b' })).rejects.toBeInstanceOf(ProviderAuthError);
    expect(api.requests()).toHaveLength(before);
  } finally {
    if (saved !== undefined) process.env.HCLOUD_TOKEN = saved;
  }
});

test('a token the cloud echoes in an error message is cut out of it', async () => {
  api.failNext({ count: 1, code: 'invalid_input', message: `token ${TOKEN} is not allowed here`, match: { method: 'GET', pathPrefix: '/servers' } });
  const failure = (await client().list({ a: 'b' }).catch((error: unknown) => error)) as Error;
  expect(failure).toBeInstanceOf(InvalidRequestError);
  expect(failure.message).toContain('token [redacted] is not allowed here');
  expect(failure.message).not.toContain(TOKEN);
});

test('an action on a locked server (another action running) is retried until the lock is gone', async () => {
  api.updateSettings({ delays: { initializing: 150 } });
  const id = await create('locked');
  api.updateSettings({ delays: { initializing: 0 } });
  const before = api.requests().length;
  await client({ backoffMs: 50, maxBackoffMs: 100, retries: 8 }).reboot(id);
  const mine = requestsSince(api, before).filter((request) => request.path === `/v1/servers/${id}/actions/reboot`);
  expect(mine[0]!.code).toBe('locked');
  expect(mine.at(-1)!.status).toBe(201);
});

test('delete shuts a running server down gracefully, polls the shutdown action, then deletes it', async () => {
  api.updateSettings({ delays: { stopping: 100 } });
  const id = await create('graceful');
  const before = api.requests().length;
  await client().delete(id);
  api.updateSettings({ delays: { stopping: 0 } });
  const paths = requestsSince(api, before).map((request) => `${request.method} ${request.path.split('?')[0]}`);
  const shutdown = paths.indexOf(`POST /v1/servers/${id}/actions/shutdown`);
  const polls = paths.filter((path) => /^GET \/v1\/actions\/\d+$/.test(path));
  const deletion = paths.indexOf(`DELETE /v1/servers/${id}`);
  expect(shutdown).toBeGreaterThanOrEqual(0);
  expect(polls.length).toBeGreaterThanOrEqual(2);
  expect(deletion).toBeGreaterThan(shutdown);
  expect(api.statusHistory(Number(id)).map((entry) => entry.status)).toEqual(['initializing', 'running', 'stopping', 'off', 'deleting', 'gone']);
  await expect(client().observe(id)).rejects.toBeInstanceOf(ServerNotFoundError);
  await expect(client().delete(id)).resolves.toBeUndefined();
});

test('create adopts the server already labelled with the same server id instead of creating another', async () => {
  const first = await create('adopted');
  const posts = () => api.requests().filter((request) => request.method === 'POST' && request.path === '/v1/servers').length;
  const before = posts();
  expect(await create('adopted')).toBe(first);
  expect(posts()).toBe(before);
});

test('a snapshot selector picks the newest available snapshot carrying the labels', async () => {
  const now = Date.now();
  const created = (offset: number) => new Date(now - offset).toISOString();
  const cloud = await strictCloud({
    snapshots: [
      { description: 'v1', labels: { role: 'worker' }, created: created(3000) },
      { description: 'v2', labels: { role: 'worker' }, created: created(2000) },
      { description: 'v3', labels: { role: 'worker' }, created: created(1000), status: 'creating' },
      { description: 'other', labels: { role: 'db' }, created: created(0) },
    ],
  });
  const on = client({ endpoint: cloud.url });
  const spec = hcloudCreateSpec('picked', labelsOf('picked'), parseHcloudTemplate({ snapshot: { selector: { role: 'worker' } }, serverType: 'cx22', location: 'fsn1' }));
  await on.createServer(spec);
  expect(cloud.inspect().servers.map((server) => server.imageId)).toEqual([1002]);
  const none = hcloudCreateSpec('none', labelsOf('none'), parseHcloudTemplate({ snapshot: { selector: { role: 'cache' } }, serverType: 'cx22', location: 'fsn1' }));
  await expect(on.createServer(none)).rejects.toThrow('no available snapshot carries the labels role=cache');
});

test('a failed up of the hcloud plugin is read back as the typed error its Hetzner error code names', () => {
  expect(hcloudErrorFromText('error: creating server: error during placement (resource_unavailable, 5f2ac1d0e)')).toBeInstanceOf(InsufficientCapacityError);
  expect(hcloudErrorFromText('server limit exceeded (resource_limit_exceeded)')).toBeInstanceOf(QuotaExceededError);
  expect(hcloudErrorFromText('unable to authenticate (unauthorized)')).toBeInstanceOf(ProviderAuthError);
  expect(hcloudErrorFromText('limit reached (rate_limit_exceeded, abc)')).toBeInstanceOf(TransientProviderError);
  expect(hcloudErrorFromText('error: some unrelated failure')).toBeUndefined();
});

test('templates: one snapshot reference, no unknown fields, and the project’s own labels are not the template’s to set', () => {
  expect(() => parseHcloudTemplate({ snapshot: { id: 1, selector: { a: 'b' } }, serverType: 'cx22', location: 'fsn1' })).toThrow(InvalidRequestError);
  expect(() => parseHcloudTemplate({ snapshot: { id: 1 }, serverType: 'cx22', location: 'fsn1', colour: 'red' })).toThrow(InvalidRequestError);
  expect(() => parseHcloudTemplate({ snapshot: { id: 1 }, serverType: 'cx22', location: 'fsn1', labels: { 'server-id': 'x' } })).toThrow(InvalidRequestError);
  expect(() => parseHcloudTemplate({ snapshot: { selector: {} }, serverType: 'cx22', location: 'fsn1' })).toThrow(InvalidRequestError);
  expect(parseHcloudTemplate({ snapshot: { id: 7 }, serverType: 'cx22', location: 'fsn1' }).snapshot).toEqual({ id: '7' });
});

test("prices come from GET /pricing, net of VAT, one per server type and location, named as the template's offerings are", async () => {
  const { hcloudProvider, hcloudOfferings } = await import('../../../providers/hcloud/index.ts');
  const provider = hcloudProvider({ endpoint: api.url, token: TOKEN });
  const prices = await provider.prices();
  const answer = (await (await fetch(`${api.url}/pricing`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
    pricing: { currency: string; server_types: { name: string; prices: { location: string; price_hourly: { net: string } }[] }[] };
  };
  expect(prices).toEqual(
    answer.pricing.server_types.flatMap((type) => type.prices.map((price) => ({ offering: `${type.name}@${price.location}`, hourly: Number(price.price_hourly.net), currency: 'EUR' }))),
  );
  expect(prices.find((price) => price.offering === 'cx22@fsn1')).toEqual({ offering: 'cx22@fsn1', hourly: 0.0074, currency: 'EUR' });
  const offered = hcloudOfferings({ snapshot: { id: 1001 }, serverType: 'cx22', location: 'fsn1', fallbacks: [{ location: 'nbg1' }, { serverType: 'cx32' }] }).map((offering) => offering.name);
  expect(offered).toEqual(['cx22@fsn1', 'cx22@nbg1', 'cx32@fsn1']);
  expect(offered.every((name) => prices.some((price) => price.offering === name))).toBe(true);
});
