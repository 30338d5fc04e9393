// The hcloud API side against the Hetzner API test server, beyond the conformance suite: every documented status,
// pagination, the rate limit (waits computed from RateLimit-* headers, no request spent on a 429 it could
// foresee), the typed errors of the documented error codes, action polling before a graceful delete, and the
// token kept out of every error.
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
import { HcloudApiClient, HCLOUD_STATUSES, hcloudErrorFromText, parseHcloudTemplate, type HcloudApiOptions } from '../../../providers/hcloud/index.ts';
import { HCLOUD_SERVER_STATUSES, startHcloudApiServer, type HcloudApiServer } from '../../support/hcloud-api-server/index.ts';

const TOKEN = randomBytes(24).toString('hex');
const template = parseHcloudTemplate({ snapshot: { id: 1 }, serverType: 'cx22', location: 'nbg1' });

let api: HcloudApiServer;
let imageId = '';

function client(options: HcloudApiOptions = {}): HcloudApiClient {
  return new HcloudApiClient({ endpoint: api.url, token: TOKEN, backoffMs: 5, maxBackoffMs: 20, actionPollMs: 10, ...options });
}

const labelsOf = (serverId: string, extra: Labels = {}): Labels => ({ 'managed-by': 'dynamic-servers', 'server-type': 'api-client', 'server-id': serverId, ...extra });

async function create(serverId: string, extra: Labels = {}): Promise<string> {
  const spec = { name: serverId, labels: labelsOf(serverId, extra), template: { ...template, snapshot: { id: imageId } } };
  return (await client().createServer(spec)).providerId;
}

beforeAll(async () => {
  api = await startHcloudApiServer({ token: TOKEN });
  imageId = String([...api.state.images.keys()][0]);
});

afterAll(async () => {
  await api?.stop();
});

test('observe maps every status the API documents, and refuses one it does not', async () => {
  const id = await create('statuses');
  const seen: Record<string, string> = {};
  for (const status of HCLOUD_SERVER_STATUSES) {
    api.setStatus(Number(id), status);
    const server = await client().observe(id);
    seen[status] = server.status;
    expect(server.cloudStatus).toBe(status);
  }
  expect(seen).toEqual(HCLOUD_STATUSES);
  expect(Object.keys(HCLOUD_STATUSES).sort()).toEqual([...HCLOUD_SERVER_STATUSES].sort());
  api.setStatus(Number(id), 'exploding' as never);
  await expect(client().observe(id)).rejects.toBeInstanceOf(UnexpectedResponseError);
  api.setStatus(Number(id), 'running');
});

test('observe reports a running server with a running reboot action as rebooting, and running once it finished', async () => {
  const id = await create('rebooter');
  api.state.durations.reboot_server = 60_000;
  await client().reboot(id);
  expect((await client().observe(id)).status).toBe('rebooting');
  expect((await client({ watchActions: false }).observe(id)).status).toBe('running');
  api.state.durations.reboot_server = 0;
  for (const action of api.state.actions.values()) if (action.command === 'reboot_server') action.endsAt = Date.now();
  expect((await client().observe(id)).status).toBe('running');
});

test('list reads every page (50 per page) and only servers carrying all the labels', async () => {
  for (let index = 0; index < 120; index += 1) await create(`paged-${index}`, { batch: 'b1' });
  await create('other-batch', { batch: 'b2' });
  const before = api.requests.length;
  const listed = await client().list({ batch: 'b1' });
  expect(listed).toHaveLength(120);
  expect(new Set(listed.map((server) => server.name)).size).toBe(120);
  const pages = api.requests.slice(before).map((request) => new URL(request.path, 'http://x').searchParams);
  expect(pages.map((query) => [query.get('page'), query.get('per_page'), query.get('label_selector')])).toEqual([
    ['1', '50', 'batch=b1'],
    ['2', '50', 'batch=b1'],
    ['3', '50', 'batch=b1'],
  ]);
});

test('a 429 is retried after the time one request takes to refill, read from the RateLimit-* headers', async () => {
  const clock = { now: 1_700_000_000_000 };
  const limited = await startHcloudApiServer({ token: TOKEN, rateLimit: { limit: 3, refillPerSecond: 1 }, now: () => clock.now });
  try {
    const waits: number[] = [];
    const paced = new HcloudApiClient({
      endpoint: limited.url,
      token: TOKEN,
      now: () => clock.now,
      sleep: async (ms) => {
        waits.push(ms);
        clock.now += ms;
      },
    });
    limited.rateLimiter.setRemaining(0);
    expect(await paced.list({ any: 'thing' })).toEqual([]);
    expect(limited.requests.map((request) => request.status)).toEqual([429, 200]);
    expect(limited.requests[0]!.code).toBe('rate_limit_exceeded');
    expect(waits).toEqual([1000]);
  } finally {
    await limited.stop();
  }
});

test('a client that saw the budget run out waits for the refill instead of spending a request on a 429', async () => {
  const clock = { now: 1_700_000_000_000 };
  const limited = await startHcloudApiServer({ token: TOKEN, rateLimit: { limit: 4, refillPerSecond: 2 }, now: () => clock.now });
  try {
    const waits: number[] = [];
    const paced = new HcloudApiClient({ endpoint: limited.url, token: TOKEN, now: () => clock.now, sleep: async (ms) => void (waits.push(ms), (clock.now += ms)) });
    limited.rateLimiter.setRemaining(1);
    await paced.list({ any: 'thing' });
    await paced.list({ any: 'thing' });
    expect(limited.requests.map((request) => request.status)).toEqual([200, 200]);
    expect(waits).toEqual([500]);
  } finally {
    await limited.stop();
  }
});

test('a rate limit longer than the client waits for goes to the caller as TransientProviderError with the wait', async () => {
  const clock = { now: 1_700_000_000_000 };
  const limited = await startHcloudApiServer({ token: TOKEN, rateLimit: { limit: 3600 }, now: () => clock.now });
  try {
    const paced = new HcloudApiClient({ endpoint: limited.url, token: TOKEN, now: () => clock.now, maxRetryAfterMs: 500, sleep: async () => {} });
    limited.rateLimiter.setRemaining(0);
    const failure = await paced.list({ any: 'thing' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientProviderError);
    expect((failure as TransientProviderError).retryAfterMs).toBe(1000);
    expect((failure as TransientProviderError).cloudCode).toBe('rate_limit_exceeded');
    expect(limited.requests).toHaveLength(1);
  } finally {
    await limited.stop();
  }
});

test('capacity and quota answers are InsufficientCapacityError and QuotaExceededError, and create nothing', async () => {
  const before = api.state.servers.size;
  api.state.capacity = before;
  await expect(create('no-room')).rejects.toBeInstanceOf(InsufficientCapacityError);
  api.state.capacity = Number.POSITIVE_INFINITY;
  api.failNext({ method: 'POST', path: /^\/servers$/, code: 'placement_error', message: 'error during placement' });
  await expect(create('no-placement')).rejects.toBeInstanceOf(InsufficientCapacityError);
  api.state.serverLimit = before;
  const failure = await create('over-limit').catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(QuotaExceededError);
  expect((failure as QuotaExceededError).httpStatus).toBe(403);
  expect((failure as QuotaExceededError).cloudCode).toBe('resource_limit_exceeded');
  api.state.serverLimit = Number.POSITIVE_INFINITY;
  expect(api.state.servers.size).toBe(before);
});

test('only a 404 not_found of a server is ServerNotFoundError; a 404 on a list, a 500 or a 401 never is', async () => {
  await expect(client().observe('999999')).rejects.toBeInstanceOf(ServerNotFoundError);
  const wrongBase = new HcloudApiClient({ endpoint: api.url.replace(/\/v1$/, ''), token: TOKEN });
  await expect(wrongBase.list({ a: 'b' })).rejects.toBeInstanceOf(UnexpectedResponseError);
  const id = await create('errors');
  for (let attempt = 0; attempt < 3; attempt += 1) api.failNext({ method: 'GET', path: new RegExp(`^/servers/${id}$`), code: 'server_error' });
  await expect(client({ retries: 1 }).observe(id)).rejects.toBeInstanceOf(TransientProviderError);
  expect((await client({ retries: 1 }).observe(id)).providerId).toBe(id);
  await expect(client().observe('not-an-id')).rejects.toBeInstanceOf(InvalidRequestError);
});

test('a rejected token is ProviderAuthError, and no error carries the token', async () => {
  const wrongToken = randomBytes(24).toString('hex');
  const failures = await Promise.all([
    new HcloudApiClient({ endpoint: api.url, token: wrongToken }).list({ a: 'b' }).catch((error: unknown) => error),
    new HcloudApiClient({ endpoint: 'http://127.0.0.1:1/v1', token: wrongToken, retries: 0 }).list({ a: 'b' }).catch((error: unknown) => error),
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
    await expect(new HcloudApiClient({ endpoint: api.url }).list({ a: 'b' })).rejects.toBeInstanceOf(ProviderAuthError);
  } finally {
    if (saved !== undefined) process.env.HCLOUD_TOKEN = saved;
  }
});

test('an action on a locked server (another action running) is retried until the lock is gone', async () => {
  api.state.durations.create_server = 150;
  const id = await create('locked');
  api.state.durations.create_server = 0;
  await client({ backoffMs: 50, maxBackoffMs: 100, retries: 8 }).reboot(id);
  const mine = api.requests.filter((request) => request.path === `/v1/servers/${id}/actions/reboot`);
  expect(mine[0]!.code).toBe('locked');
  expect(mine.at(-1)!.status).toBe(201);
});

test('delete shuts a running server down gracefully, polls the shutdown action, then deletes it', async () => {
  api.state.durations.shutdown_server = 100;
  const id = await create('graceful');
  const before = api.requests.length;
  await client().delete(id);
  api.state.durations.shutdown_server = 0;
  const paths = api.requests.slice(before).map((request) => `${request.method} ${request.path.split('?')[0]}`);
  const shutdown = paths.indexOf(`POST /v1/servers/${id}/actions/shutdown`);
  const polls = paths.filter((path) => /^GET \/v1\/actions\/\d+$/.test(path));
  const deletion = paths.indexOf(`DELETE /v1/servers/${id}`);
  expect(shutdown).toBeGreaterThanOrEqual(0);
  expect(polls.length).toBeGreaterThanOrEqual(2);
  expect(deletion).toBeGreaterThan(shutdown);
  await expect(client().observe(id)).rejects.toBeInstanceOf(ServerNotFoundError);
  await expect(client().delete(id)).resolves.toBeUndefined();
});

test('create adopts the server already labelled with the same server id instead of creating another', async () => {
  const first = await create('adopted');
  const posts = api.requests.filter((request) => request.method === 'POST' && request.path === '/v1/servers').length;
  expect(await create('adopted')).toBe(first);
  expect(api.requests.filter((request) => request.method === 'POST' && request.path === '/v1/servers').length).toBe(posts);
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
