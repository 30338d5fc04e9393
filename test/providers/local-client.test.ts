// The local provider's API side (the shared Hetzner API client, pointed at the local cloud) against injected
// faults. Waits go through an injected `sleep` that records them (and moves the cloud's clock where the cloud has
// one), so nothing here depends on wall-clock time.
import { afterEach, describe, expect, test } from '@jest/globals';
import {
  InsufficientCapacityError,
  InvalidRequestError,
  observeStatus,
  ProviderAuthError,
  QuotaExceededError,
  ServerNotFoundError,
  TransientProviderError,
  UnexpectedResponseError,
} from '../../providers/contract.ts';
import type { ServerCreateSpec } from '../../providers/hetzner-api/client.ts';
import { localCloudClient, type LocalCloudClientOptions } from '../../providers/local/client.ts';
import { localCloudProvider } from '../../providers/local/index.ts';
import { localCreateSpec, localOfferings } from '../../providers/local/template.ts';
import { duplicateServers } from '../../src/local-cloud/inspection.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import type { LocalCloudOptions } from '../../src/local-cloud/options.ts';

const started: LocalCloud[] = [];
/** Steps last far longer than any backoff, so only the test's explicit clock moves end them. */
const STEP = 600_000;

afterEach(async () => {
  await Promise.all(started.splice(0).map((cloud) => cloud.stop()));
});

/** A cloud on a fake clock (steps end only when the test moves it) and a client whose waits move that clock. */
async function cloudAndClient(options: LocalCloudOptions = {}, clientOptions: Partial<LocalCloudClientOptions> = {}) {
  const clock = { now: 1_800_000_000_000 };
  const cloud = await startLocalCloud({ now: () => clock.now, ...options });
  started.push(cloud);
  const sleeps: number[] = [];
  const client = localCloudClient({
    endpoint: cloud.url,
    ...(options.token === undefined ? {} : { token: options.token }),
    now: () => clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    ...clientOptions,
  });
  return { cloud, client, sleeps, clock };
}

function spec(serverId: string, snapshot = 'base-snapshot'): ServerCreateSpec {
  return localCreateSpec(serverId, { 'managed-by': 'dynamic-servers', 'server-type': 'worker', 'server-id': serverId }, { snapshot, size: 'small' });
}

describe('the rate limit', () => {
  test('a client that saw the bucket run out waits for one request to refill (from the RateLimit headers) instead of spending one on a 429', async () => {
    // A bucket of 2 requests refilled at one request per 2 s.
    const { cloud, client, sleeps } = await cloudAndClient({ rateLimit: { limit: 2, refillPerSecond: 0.5 } });
    await client.list({});
    await client.list({});
    await expect(client.list({})).resolves.toEqual([]);
    expect(cloud.inspect().stats.rateLimited).toBe(0);
    expect(sleeps).toEqual([2000]);
  });

  test('after a 429 it waits the time one request takes to refill (from the RateLimit headers), then succeeds', async () => {
    const { cloud, client, sleeps } = await cloudAndClient({ rateLimit: { limit: 2, refillPerSecond: 0.5 } });
    cloud.setRateLimitRemaining(0);
    await expect(client.list({})).resolves.toEqual([]);
    expect(cloud.inspect().stats.rateLimited).toBe(1);
    expect(sleeps).toEqual([2000]);
  });

  test('a wait longer than the client may wait goes to the caller as a TransientProviderError carrying it, with no request spent', async () => {
    const { cloud, client, sleeps } = await cloudAndClient({ rateLimit: { limit: 1, refillPerSecond: 0.01 } }, { maxRetryAfterMs: 10_000 });
    await client.list({});
    const error = await client.list({}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientProviderError);
    expect((error as TransientProviderError).retryAfterMs).toBe(100_000);
    expect((error as TransientProviderError).cloudCode).toBe('rate_limit_exceeded');
    expect(sleeps).toEqual([]);
    expect(cloud.inspect().stats.total).toBe(1);
  });
});

describe('5xx answers', () => {
  test('are transient: retried with backoff until the cloud answers', async () => {
    const { cloud, client, sleeps } = await cloudAndClient();
    cloud.failNext({ count: 2, status: 500, code: 'server_error' });
    await expect(client.list({})).resolves.toEqual([]);
    expect(cloud.inspect().stats.injectedErrors).toBe(2);
    expect(sleeps).toHaveLength(2);
  });

  test('end in a TransientProviderError once the retries are spent', async () => {
    const { cloud, client, sleeps } = await cloudAndClient({}, { retries: 2 });
    cloud.failNext({ count: 10, code: 'unavailable' });
    const error = await client.list({}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TransientProviderError);
    expect(error).toMatchObject({ httpStatus: 503, cloudCode: 'unavailable' });
    expect(cloud.inspect().stats.injectedErrors).toBe(3);
    expect(sleeps).toHaveLength(2);
  });

  test('a 412 resource_unavailable is InsufficientCapacityError and a 403 resource_limit_exceeded is QuotaExceededError, neither retried', async () => {
    const { cloud, client, sleeps } = await cloudAndClient({ capacity: 0 });
    await expect(client.createServer(spec('a1'))).rejects.toBeInstanceOf(InsufficientCapacityError);
    cloud.updateSettings({ capacity: 10, quota: 0 });
    await expect(client.createServer(spec('a1'))).rejects.toBeInstanceOf(QuotaExceededError);
    expect(sleeps).toEqual([]);
    expect(cloud.inspect().servers).toEqual([]);
  });
});

describe('lost responses', () => {
  test('a create whose answer was lost after the cloud created the server does not create a second one', async () => {
    const { cloud, client, sleeps } = await cloudAndClient();
    cloud.loseNextResponses(1);
    const server = await client.createServer(spec('a1'));
    const { servers, stats } = cloud.inspect();
    expect(stats.lostResponses).toBe(1);
    expect(stats.byRoute['POST /servers']).toBe(1);
    expect(servers).toHaveLength(1);
    expect(server.providerId).toBe(String(servers[0]!.id));
    expect(duplicateServers(servers).size).toBe(0);
    expect(sleeps).toHaveLength(1);
  });

  test('creating a server that already exists adopts it', async () => {
    const { cloud, client } = await cloudAndClient();
    const first = await client.createServer(spec('a1'));
    const again = await client.createServer(spec('a1'));
    expect(again.providerId).toBe(first.providerId);
    expect(cloud.inspect().stats.byRoute['POST /servers']).toBe(1);
  });

  test('a stop whose answer was lost is not sent twice, and a retried delete of a deleted server succeeds', async () => {
    const { cloud, client, clock } = await cloudAndClient({ delays: { initializing: STEP, stopping: STEP, deleting: STEP } });
    const { providerId } = await client.createServer(spec('a1'));
    clock.now += STEP;
    cloud.loseNextResponses(1);
    await client.stop(providerId);
    expect(cloud.inspect().stats.byRoute['POST /servers/{id}/actions/shutdown']).toBe(1);
    expect(cloud.inspect().servers[0]!.status).toBe('stopping');
    cloud.loseNextResponses(1);
    await client.delete(providerId);
    expect(cloud.inspect().stats.byRoute['DELETE /servers/{id}']).toBe(2);
    clock.now += STEP;
    await expect(client.observe(providerId)).rejects.toBeInstanceOf(ServerNotFoundError);
  });
});

describe('observe never takes a failure for deletion', () => {
  test('a 401 is ProviderAuthError, a 500 is TransientProviderError, a wrong base URL is UnexpectedResponseError; only not_found is deletion', async () => {
    const { cloud, client, clock } = await cloudAndClient({ token: 'right-token', delays: { initializing: STEP, deleting: STEP } });
    const { providerId } = await client.createServer(spec('a1'));

    const wrongToken = localCloudClient({ endpoint: cloud.url, token: 'wrong-token', sleep: async () => {} });
    await expect(wrongToken.observe(providerId)).rejects.toBeInstanceOf(ProviderAuthError);
    await expect(observeStatus(wrongToken, providerId)).rejects.toBeInstanceOf(ProviderAuthError);
    expect(cloud.inspect().stats.unauthorized).toBe(2);

    cloud.failNext({ count: 100, status: 500, code: 'server_error', match: { method: 'GET', pathPrefix: '/servers/' } });
    await expect(client.observe(providerId)).rejects.toBeInstanceOf(TransientProviderError);
    await expect(observeStatus(client, providerId)).rejects.toBeInstanceOf(TransientProviderError);
    cloud.clearPendingFaults();

    const wrongBase = localCloudClient({ endpoint: cloud.url.replace(/\/v1$/, ''), token: 'right-token', sleep: async () => {} });
    await expect(observeStatus(wrongBase, providerId)).rejects.toBeInstanceOf(UnexpectedResponseError);
    await expect(wrongBase.list({})).rejects.toBeInstanceOf(UnexpectedResponseError);

    await expect(observeStatus(client, providerId)).resolves.toBe('starting');
    await client.delete(providerId);
    await expect(observeStatus(client, providerId)).resolves.toBe('deleting');
    clock.now += STEP;
    await expect(client.observe(providerId)).rejects.toBeInstanceOf(ServerNotFoundError);
    await expect(observeStatus(client, providerId)).resolves.toBe('deleted');
  });

  test('an id that is not the cloud’s is an InvalidRequestError, and no request is sent', async () => {
    const { cloud, client } = await cloudAndClient();
    await expect(client.observe('../servers')).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(client.observe('')).rejects.toBeInstanceOf(InvalidRequestError);
    expect(cloud.inspect().stats.total).toBe(0);
  });

  test('the token is cut out of every error message, also one the cloud echoes', async () => {
    const token = 'local-secret-token';
    const { cloud, client } = await cloudAndClient({ token });
    cloud.failNext({ count: 1, code: 'invalid_input', message: `token ${token} is not allowed here` });
    const failure = (await client.list({}).catch((error: unknown) => error)) as Error;
    expect(failure).toBeInstanceOf(InvalidRequestError);
    expect(failure.message).toMatch(/^GET \/servers\?\S+: HTTP 422 invalid_input: token \[redacted\] is not allowed here$/);
    expect(failure.message).not.toContain(token);
  });
});

describe('the API side', () => {
  test('maps the cloud’s statuses onto ours through a server’s life (a reboot from the running reboot action)', async () => {
    const { cloud, client, clock } = await cloudAndClient({ delays: { initializing: STEP, rebooting: STEP, stopping: STEP, starting: STEP, deleting: STEP } });
    const { providerId } = await client.createServer(spec('a1'));
    const seen = [await observeStatus(client, providerId)];
    clock.now += STEP;
    seen.push(await observeStatus(client, providerId));
    await client.reboot(providerId);
    seen.push(await observeStatus(client, providerId));
    clock.now += STEP;
    await client.stop(providerId);
    seen.push(await observeStatus(client, providerId));
    clock.now += STEP;
    seen.push(await observeStatus(client, providerId));
    expect((await fetch(`${cloud.url}/servers/${providerId}/actions/poweron`, { method: 'POST' })).status).toBe(201);
    seen.push(await observeStatus(client, providerId));
    clock.now += STEP;
    await client.delete(providerId);
    seen.push(await observeStatus(client, providerId));
    clock.now += STEP;
    seen.push(await observeStatus(client, providerId));
    expect(seen).toEqual(['starting', 'running', 'rebooting', 'stopping', 'stopped', 'starting', 'deleting', 'deleted']);
  });

  test('list follows the pages and selects by label', async () => {
    const { client } = await cloudAndClient({ capacity: 200 });
    for (let index = 0; index < 60; index += 1) await client.createServer(spec(`w${index}`));
    await client.createServer({ ...spec('other'), labels: { 'managed-by': 'someone-else', 'server-id': 'other' } });
    const managed = await client.list({ 'managed-by': 'dynamic-servers', 'server-type': 'worker' });
    expect(managed).toHaveLength(60);
    expect(new Set(managed.map((server) => server.labels['server-id'])).size).toBe(60);
    expect(await client.list({})).toHaveLength(61);
  });

  test('prices come from the pricing endpoint: size@location, and a bare size at the price of the default location', async () => {
    const { cloud } = await cloudAndClient();
    const prices = await localCloudProvider({ endpoint: cloud.url }).prices!();
    expect(prices.filter((price) => price.offering.startsWith('small'))).toEqual([
      { offering: 'small@local-1', hourly: 0.005, currency: 'EUR' },
      { offering: 'small@local-2', hourly: 0.005, currency: 'EUR' },
      { offering: 'small', hourly: 0.005, currency: 'EUR' },
    ]);
    expect(prices).toHaveLength(9);
    expect(localOfferings({ snapshot: 'base-snapshot', size: 'small', fallbacks: [{ location: 'local-2' }, { size: 'medium', location: 'local-1' }] }).map((offering) => offering.name)).toEqual([
      'small',
      'small@local-2',
      'medium@local-1',
    ]);
  });

  test('a create without a server-id label or with bad input is an InvalidRequestError', async () => {
    const { cloud, client } = await cloudAndClient();
    await expect(client.createServer({ ...spec('a1'), labels: { 'managed-by': 'dynamic-servers' } })).rejects.toBeInstanceOf(InvalidRequestError);
    expect(cloud.inspect().stats.byRoute['POST /servers']).toBeUndefined();
    await expect(client.createServer(spec('a1', 'no-such-snapshot'))).rejects.toThrow(/no available snapshot has the description 'no-such-snapshot'/);
    await expect(client.createServer(spec('a1', '999'))).rejects.toMatchObject({ cloudCode: 'invalid_input' });
    expect(() => localCloudClient({ endpoint: 'ftp://127.0.0.1/v1' })).toThrow(InvalidRequestError);
  });
});
