// The local cloud over HTTP: the server life cycle on a fake clock (as the API shows it, and as the cloud records
// it), capacity, quota, rate limiting, credentials, fault injection and what tests can inspect. The shapes of the
// answers against the Hetzner API reference are in hetzner-shapes.test.ts.
import { afterEach, describe, expect, test } from '@jest/globals';
import { LocalCloudConfigError } from '../../src/local-cloud/errors.ts';
import { duplicateServers, orphanServers } from '../../src/local-cloud/inspection.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import type { LocalCloudOptions } from '../../src/local-cloud/options.ts';

const started: LocalCloud[] = [];
const STEP = 1000;

afterEach(async () => {
  await Promise.all(started.splice(0).map((cloud) => cloud.stop()));
});

async function start(options: LocalCloudOptions = {}) {
  const clock = { now: 1_800_000_000_000 };
  const cloud = await startLocalCloud({
    now: () => clock.now,
    delays: { initializing: STEP, starting: STEP, stopping: STEP, rebooting: STEP, deleting: STEP },
    ...options,
  });
  started.push(cloud);
  const call = async (method: string, path: string, requestBody?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${cloud.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: requestBody === undefined ? undefined : JSON.stringify(requestBody),
    });
    const text = await response.text();
    // Parsed JSON stays untyped here: each test reads the fields it checks.
    const body = text ? JSON.parse(text) : {};
    return { status: response.status, headers: response.headers, body };
  };
  return { cloud, clock, call };
}

/** The id of the default snapshot (`base-snapshot`: snapshots are numbered from 1001). */
const SNAPSHOT_ID = 1001;
const serverBody = (name: string, labels: Record<string, string> = {}) => ({ name, server_type: 'small', image: SNAPSHOT_ID, labels });

describe('servers', () => {
  test('POST /servers answers {server, action}; the server goes initializing → running → stopping → off → starting → running → (reboot) → deleting → gone', async () => {
    const { call, clock, cloud } = await start();
    const created = await call('POST', '/servers', serverBody('web-1', { role: 'web' }));
    expect(created.status).toBe(201);
    expect(created.body.server).toMatchObject({ id: 1, name: 'web-1', status: 'initializing', labels: { role: 'web' }, server_type: { name: 'small' } });
    expect(created.body.action).toMatchObject({ command: 'create_server', status: 'running', resources: [{ id: 1, type: 'server' }] });
    expect(created.body.next_actions).toEqual([expect.objectContaining({ command: 'start_server', status: 'running' })]);
    const status = async () => (await call('GET', '/servers/1')).body.server.status;
    const seen = [await status()];
    clock.now += STEP;
    seen.push(await status());
    expect((await call('GET', `/actions/${created.body.action.id}`)).body.action).toMatchObject({ status: 'success', progress: 100 });
    expect((await call('POST', '/servers/1/actions/shutdown')).status).toBe(201);
    seen.push(await status());
    clock.now += STEP;
    seen.push(await status());
    await call('POST', '/servers/1/actions/poweron');
    seen.push(await status());
    clock.now += STEP;
    seen.push(await status());
    const reboot = (await call('POST', '/servers/1/actions/reboot')).body.action;
    seen.push(await status());
    const running = async () => (await call('GET', '/servers/1/actions?status=running')).body.actions.map((action: { command: string }) => action.command);
    expect(await running()).toEqual(['reboot_server']);
    expect(cloud.inspect().servers[0]!.status).toBe('rebooting');
    clock.now += STEP;
    seen.push(await status());
    expect(await running()).toEqual([]);
    expect((await call('GET', `/servers/1/actions/${reboot.id}`)).body.action).toMatchObject({ command: 'reboot_server', status: 'success' });
    expect((await call('DELETE', '/servers/1')).body.action).toMatchObject({ command: 'delete_server', status: 'running' });
    seen.push(await status());
    clock.now += STEP;
    const gone = await call('GET', '/servers/1');
    // Hetzner has no rebooting status: the API shows the reboot only as a running reboot_server action.
    expect(seen).toEqual(['initializing', 'running', 'stopping', 'off', 'starting', 'running', 'running', 'running', 'deleting']);
    expect(gone).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(cloud.statusHistory(1).map((entry) => entry.status)).toEqual(['initializing', 'running', 'stopping', 'off', 'starting', 'running', 'rebooting', 'running', 'deleting', 'gone']);
    expect(cloud.statusHistory(1).map((entry) => entry.at - 1_800_000_000_000)).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 4, 5].map((steps) => steps * STEP));
  });

  test('the status history keeps a step far shorter than any poll, and a step cut short by deletion; its actions fail', async () => {
    const { call, clock, cloud } = await start({ delays: { initializing: 0, starting: 0, stopping: 0, rebooting: 1, deleting: 0 } });
    await call('POST', '/servers', serverBody('a'));
    const { action } = (await call('POST', '/servers/1/actions/reboot')).body;
    clock.now += 1;
    expect((await call('GET', '/servers/1')).body.server.status).toBe('running');
    cloud.updateSettings({ delays: { rebooting: STEP } });
    const cut = (await call('POST', '/servers/1/actions/reboot')).body.action;
    const deletion = (await call('DELETE', '/servers/1')).body.action;
    expect((await call('GET', '/servers/1/actions')).body.error.code).toBe('not_found');
    const actions = (await call('GET', `/actions?id=${cut.id}&id=${deletion.id}&sort=id:desc`)).body.actions;
    expect(actions.map((entry: { command: string; status: string; error: unknown }) => [entry.command, entry.status, entry.error])).toEqual([
      ['delete_server', 'success', null],
      ['reboot_server', 'error', { code: 'action_failed', message: 'the server was deleted' }],
    ]);
    expect((await call('GET', `/actions/${action.id}`)).body.action.status).toBe('success');
    expect(cloud.statusHistory(1).map((entry) => entry.status)).toEqual(['initializing', 'running', 'rebooting', 'running', 'rebooting', 'deleting', 'gone']);
    expect(cloud.statusHistory(99)).toEqual([]);
  });

  test('PUT /servers/{id} renames and replaces the labels; a taken name or a bad label changes nothing', async () => {
    const { call } = await start();
    await call('POST', '/servers', serverBody('a', { old: 'yes' }));
    await call('POST', '/servers', serverBody('b'));
    expect((await call('PUT', '/servers/1', { labels: { fresh: 'label' } })).body.server).toMatchObject({ name: 'a', labels: { fresh: 'label' } });
    expect(await call('PUT', '/servers/1', { name: 'b' })).toMatchObject({ status: 409, body: { error: { code: 'uniqueness_error' } } });
    expect(await call('PUT', '/servers/1', { labels: { 'bad key!': 'x' } })).toMatchObject({ status: 422, body: { error: { code: 'invalid_input' } } });
    expect((await call('PUT', '/servers/1', { name: 'c' })).body.server).toMatchObject({ name: 'c', labels: { fresh: 'label' } });
    expect((await call('GET', '/servers?label_selector=fresh')).body.servers.map((server: { name: string }) => server.name)).toEqual(['c']);
  });

  test('a server created without starting ends off; a forced status is reported as it is and locks the server', async () => {
    const { call, clock, cloud } = await start();
    const created = await call('POST', '/servers', { ...serverBody('cold'), start_after_create: false });
    expect(created.body.next_actions).toEqual([]);
    clock.now += STEP;
    expect((await call('GET', '/servers/1')).body.server.status).toBe('off');
    cloud.setServerStatus(1, 'migrating');
    expect((await call('GET', '/servers/1')).body.server.status).toBe('migrating');
    expect((await call('POST', '/servers/1/actions/poweron')).body.error.code).toBe('locked');
    expect((await fetch(`${cloud.adminUrl}/servers/1/status`, { method: 'PUT', body: JSON.stringify({ status: 'unknown' }) })).status).toBe(200);
    expect((await call('GET', '/servers/1')).body.server.status).toBe('unknown');
    expect((await fetch(`${cloud.adminUrl}/servers/1/history`).then((answer) => answer.json())) as unknown).toEqual({
      history: ['initializing', 'off', 'migrating', 'unknown'].map((status) => ({ status, at: expect.any(Number) })),
    });
  });

  test('commands that do not fit the status are 423 locked or 422 unsupported_error; repeating a delete returns its action', async () => {
    const { call, clock } = await start();
    await call('POST', '/servers', serverBody('a'));
    expect((await call('POST', '/servers/1/actions/reboot')).body.error.code).toBe('locked');
    clock.now += STEP;
    await call('POST', '/servers/1/actions/shutdown');
    clock.now += STEP;
    expect(await call('POST', '/servers/1/actions/reboot')).toMatchObject({ status: 422, body: { error: { code: 'unsupported_error' } } });
    const first = await call('DELETE', '/servers/1');
    const again = await call('DELETE', '/servers/1');
    expect(again.body.action.id).toBe(first.body.action.id);
  });

  test('bad input is 422 invalid_input naming the field; a taken name is 409 uniqueness_error; unknown routes are not not_found', async () => {
    const { call } = await start();
    expect(await call('POST', '/servers', { ...serverBody('a'), image: 'nope' })).toMatchObject({ status: 422, body: { error: { code: 'invalid_input', details: { fields: [{ name: 'image' }] } } } });
    // A snapshot has no name: it is found by id (or by its labels, through GET /images), never by its description.
    expect((await call('POST', '/servers', { ...serverBody('a'), image: 'base-snapshot' })).body.error.details.fields[0].name).toBe('image');
    expect((await call('POST', '/servers', { ...serverBody('a'), server_type: 'huge' })).body.error.details.fields[0].name).toBe('server_type');
    expect((await call('POST', '/servers', { ...serverBody('not a host name') })).body.error.code).toBe('invalid_input');
    expect((await call('POST', '/servers', serverBody('a', { 'bad key!': 'x' }))).body.error.code).toBe('invalid_input');
    expect((await call('POST', '/servers', { server_type: 'small' })).body.error.code).toBe('invalid_input');
    const raw = await fetch(`${(started.at(-1) as LocalCloud).url}/servers`, { method: 'POST', body: '{not json' });
    expect(((await raw.json()) as { error: { code: string } }).error.code).toBe('json_error');
    expect((await call('POST', '/servers', serverBody('a'))).status).toBe(201);
    expect(await call('POST', '/servers', serverBody('a'))).toMatchObject({ status: 409, body: { error: { code: 'uniqueness_error' } } });
    expect(await call('GET', '/volumes')).toMatchObject({ status: 404, body: { error: { code: 'route_not_found' } } });
    expect((await call('GET', '/servers/abc')).body.error.code).toBe('invalid_input');
  });

  test('GET /servers selects by label_selector, name and status, and paginates with Hetzner’s meta', async () => {
    const { call, cloud } = await start({ capacity: 10 });
    for (let index = 1; index <= 5; index += 1) await call('POST', '/servers', serverBody(`w${index}`, { type: index % 2 ? 'odd' : 'even', n: String(index) }));
    const ids = async (query: string) => (await call('GET', `/servers?${query}`)).body.servers.map((server: { id: number }) => server.id);
    expect(await ids('label_selector=type%3Dodd')).toEqual([1, 3, 5]);
    expect(await ids('label_selector=type!%3Dodd')).toEqual([2, 4]);
    expect(await ids(`label_selector=${encodeURIComponent('n in (1,2),type==odd')}`)).toEqual([1]);
    expect(await ids(`label_selector=${encodeURIComponent('n notin (1,2),!missing,type')}`)).toEqual([3, 4, 5]);
    expect(await ids('name=w4')).toEqual([4]);
    expect(await ids('status=initializing&status=running')).toEqual([1, 2, 3, 4, 5]);
    const page = await call('GET', '/servers?per_page=2&page=2');
    expect(page.body.servers.map((server: { id: number }) => server.id)).toEqual([3, 4]);
    expect(page.body.meta.pagination).toEqual({ page: 2, per_page: 2, previous_page: 1, next_page: 3, last_page: 3, total_entries: 5 });
    expect((await call('GET', '/servers?per_page=51')).body.error.code).toBe('invalid_input');
    expect((await call('GET', '/servers?label_selector=%3D%3Dx')).body.error.code).toBe('invalid_input');
    expect(cloud.inspect().servers).toHaveLength(5);
  });
});

describe('limits', () => {
  test('capacity answers 412 resource_unavailable and quota 403 resource_limit_exceeded; deleting servers still count', async () => {
    const { call, cloud, clock } = await start({ capacity: 1 });
    await call('POST', '/servers', serverBody('a'));
    expect(await call('POST', '/servers', serverBody('b'))).toMatchObject({ status: 412, body: { error: { code: 'resource_unavailable' } } });
    await call('DELETE', '/servers/1');
    expect((await call('POST', '/servers', serverBody('b'))).status).toBe(412);
    clock.now += STEP;
    expect((await call('POST', '/servers', serverBody('b'))).status).toBe(201);
    cloud.updateSettings({ capacity: 10, quota: 1 });
    expect(await call('POST', '/servers', serverBody('c'))).toMatchObject({ status: 403, body: { error: { code: 'resource_limit_exceeded' } } });
    cloud.updateSettings({ quota: null });
    expect((await call('POST', '/servers', serverBody('c'))).status).toBe(201);
  });

  test('a size sold out in a location answers 412 resource_unavailable there only, shows unavailable, and the request log keeps what was asked', async () => {
    const { call, cloud } = await start({ soldOut: ['small@local-1'] });
    const at = (name: string, serverType: string, location: string) => ({ ...serverBody(name), server_type: serverType, location });
    expect(await call('POST', '/servers', at('a', 'small', 'local-1'))).toMatchObject({ status: 412, body: { error: { code: 'resource_unavailable' } } });
    expect((await call('POST', '/servers', at('b', 'small', 'local-2'))).status).toBe(201);
    expect((await call('POST', '/servers', at('c', 'medium', 'local-1'))).status).toBe(201);
    const small = (await call('GET', '/server_types?name=small')).body.server_types[0];
    expect(small.locations.map((location: { name: string; available: boolean }) => [location.name, location.available])).toEqual([
      ['local-1', false],
      ['local-2', true],
    ]);
    const creates = cloud.requests().filter((request) => request.method === 'POST');
    expect(creates.map((request) => [(request.body as { location: string }).location, request.status, request.code])).toEqual([
      ['local-1', 412, 'resource_unavailable'],
      ['local-2', 201, undefined],
      ['local-1', 201, undefined],
    ]);

    // Through the admin API, as a test in another process would: a whole location, then a size everywhere.
    const patch = (soldOut: string[]) => fetch(`${cloud.adminUrl}/settings`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ soldOut }) });
    expect((await patch(['@local-2'])).status).toBe(200);
    expect((await call('POST', '/servers', at('d', 'large', 'local-2'))).status).toBe(412);
    expect((await call('POST', '/servers', at('d', 'small', 'local-1'))).status).toBe(201);
    expect((await patch(['medium'])).status).toBe(200);
    expect((await call('POST', '/servers', at('e', 'medium', 'local-2'))).status).toBe(412);
    expect((await patch(['medium@'])).status).toBe(422);
    expect(cloud.settings().soldOut).toEqual(['medium']);
  });

  test('rate limiting answers 429 rate_limit_exceeded with the RateLimit-* headers (no Retry-After: Hetzner sends none), and recovers as the bucket refills', async () => {
    const { call, clock } = await start({ rateLimit: { limit: 2, refillPerSecond: 0.25 } });
    const first = await call('GET', '/servers');
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    await call('GET', '/servers');
    const limited = await call('GET', '/servers');
    expect(limited).toMatchObject({ status: 429, body: { error: { code: 'rate_limit_exceeded' } } });
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('ratelimit-limit')).toBe('2');
    expect(Number(limited.headers.get('ratelimit-reset'))).toBe(Math.ceil((clock.now + 8000) / 1000));
    clock.now += 3999;
    expect((await call('GET', '/servers')).status).toBe(429);
    clock.now += 1;
    expect((await call('GET', '/servers')).status).toBe(200);
  });

  test('with a token set, requests without it are 401 unauthorized, admin included', async () => {
    const { call, cloud } = await start({ token: 'secret-token' });
    expect(await call('GET', '/servers')).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect((await call('GET', '/servers', undefined, { authorization: 'Bearer secret-token' })).status).toBe(200);
    expect((await fetch(`${cloud.adminUrl}/state`)).status).toBe(401);
    expect(cloud.inspect().stats.unauthorized).toBe(1);
  });

  test('with several named tokens, each is accepted and the request log names the holder and the servers each request touched', async () => {
    const { call, cloud } = await start({ tokens: { alpha: 'token-of-alpha', beta: 'token-of-beta' } });
    const as = (holder: string) => ({ authorization: `Bearer token-of-${holder}` });
    const a = await call('POST', '/servers', { ...serverBody('a'), labels: { owner: 'alpha' } }, as('alpha'));
    const b = await call('POST', '/servers', { ...serverBody('b'), labels: { owner: 'beta' } }, as('beta'));
    expect([a.status, b.status]).toEqual([201, 201]);
    expect((await call('GET', '/servers?label_selector=owner%3Dbeta', undefined, as('beta'))).body.servers).toHaveLength(1);
    expect((await call('DELETE', `/servers/${a.body.server.id}`, undefined, as('alpha'))).status).toBe(200);
    expect((await call('GET', '/servers', undefined, { authorization: 'Bearer someone-else' })).status).toBe(401);
    expect(cloud.requests().map((request) => [request.token ?? null, request.method, request.path, request.servers.map((server) => `${server.id}:${server.labels?.owner}`)])).toEqual([
      ['alpha', 'POST', '/v1/servers', [`${a.body.server.id}:alpha`]],
      ['beta', 'POST', '/v1/servers', [`${b.body.server.id}:beta`]],
      ['beta', 'GET', '/v1/servers?label_selector=owner%3Dbeta', [`${b.body.server.id}:beta`]],
      ['alpha', 'DELETE', `/v1/servers/${a.body.server.id}`, [`${a.body.server.id}:alpha`]],
      [null, 'GET', '/v1/servers', []],
    ]);
    await expect(startLocalCloud({ token: 'same', tokens: { other: 'same' } })).rejects.toThrow('two token names have the same token');
  });

  test('names repeat only when the cloud is told they may (as EC2 Name tags do); Hetzner refuses a taken name', async () => {
    const { call } = await start({ uniqueNames: false });
    expect((await call('POST', '/servers', serverBody('twin'))).status).toBe(201);
    expect((await call('POST', '/servers', serverBody('twin'))).status).toBe(201);
    expect((await call('GET', '/servers?name=twin')).body.servers).toHaveLength(2);
    const strict = await start();
    expect((await strict.call('POST', '/servers', serverBody('twin'))).status).toBe(201);
    expect((await strict.call('POST', '/servers', serverBody('twin'))).body.error.code).toBe('uniqueness_error');
  });
});

describe('fault injection', () => {
  test('an error rate of 1 answers every request 500 server_error and does nothing; 0 answers none', async () => {
    const { call, cloud } = await start({ faults: { errorRate: 1 } });
    for (let index = 0; index < 5; index += 1) expect(await call('POST', '/servers', serverBody(`a${index}`))).toMatchObject({ status: 500, body: { error: { code: 'server_error' } } });
    expect(cloud.inspect().servers).toEqual([]);
    cloud.updateSettings({ faults: { errorRate: 0 } });
    expect((await call('POST', '/servers', serverBody('a'))).status).toBe(201);
    expect(cloud.inspect().stats.injectedErrors).toBe(5);
  });

  test('one-shot errors strike the matching requests only, with their status, code and Retry-After', async () => {
    const { call, cloud } = await start();
    cloud.failNext({ count: 2, status: 503, code: 'service_error', match: { method: 'GET', pathPrefix: '/servers/' }, retryAfterSeconds: 7 });
    await call('POST', '/servers', serverBody('a'));
    expect((await call('GET', '/servers')).status).toBe(200);
    const injected = await call('GET', '/servers/1');
    expect(injected).toMatchObject({ status: 503, body: { error: { code: 'service_error' } } });
    expect(injected.headers.get('retry-after')).toBe('7');
    expect((await call('GET', '/servers/1')).status).toBe(503);
    expect((await call('GET', '/servers/1')).status).toBe(200);
    // An exact path (the query aside) strikes the list only, not a server's own path.
    cloud.failNext({ count: 1, status: 503, code: 'service_error', match: { method: 'GET', path: '/servers' } });
    expect((await call('GET', '/servers/1')).status).toBe(200);
    expect((await call('GET', '/servers?label_selector=a%3Db')).status).toBe(503);
    expect((await call('GET', '/servers')).status).toBe(200);
  });

  test('a lost response drops the connection after the action was taken', async () => {
    const { cloud } = await start();
    cloud.loseNextResponses(1);
    const lost = await fetch(`${cloud.url}/servers`, { method: 'POST', body: JSON.stringify(serverBody('a')) }).catch((error: unknown) => error);
    expect(String(lost)).toMatch(/fetch failed/);
    expect(cloud.inspect().servers.map((server) => server.name)).toEqual(['a']);
    expect(cloud.inspect().stats.lostResponses).toBe(1);
  });

  test('a hang in any step keeps servers in it for ever, and inspect() shows them hung', async () => {
    const { call, cloud, clock } = await start({ faults: { hangIn: ['initializing'] } });
    await call('POST', '/servers', serverBody('a'));
    clock.now += 3_600_000;
    expect((await call('GET', '/servers/1')).body.server.status).toBe('initializing');
    expect(cloud.inspect().servers[0]).toMatchObject({ status: 'initializing', hung: true });
    cloud.updateSettings({ faults: { hangIn: ['deleting'] } });
    await call('DELETE', '/servers/1');
    clock.now += 3_600_000;
    expect(cloud.inspect().servers[0]).toMatchObject({ status: 'deleting', hung: true });
    cloud.updateSettings({ faults: { hangIn: [] } });
    await call('POST', '/servers', serverBody('b'));
    clock.now += STEP;
    expect(cloud.inspect().servers.map((server) => [server.name, server.status, server.hung])).toEqual([
      ['a', 'deleting', true],
      ['b', 'running', false],
    ]);
  });

  test('servers from a broken snapshot never finish initializing; others boot', async () => {
    const { call, cloud, clock } = await start({ snapshots: ['base-snapshot', 'broken-snapshot'], faults: { brokenSnapshots: ['broken-snapshot'] } });
    // Snapshots have ids from 1001 in the order given: broken-snapshot is 1002.
    await call('POST', '/servers', { ...serverBody('a'), image: 1002 });
    await call('POST', '/servers', serverBody('b'));
    clock.now += 3_600_000;
    expect(cloud.inspect().servers.map((server) => [server.name, server.status, server.hung])).toEqual([
      ['a', 'initializing', true],
      ['b', 'running', false],
    ]);
  });
});

describe('inspection', () => {
  test('counts duplicates by server-id among live servers, and orphans against the known server ids', async () => {
    const { call, cloud } = await start();
    const managed = (serverId: string) => ({ 'managed-by': 'dynamic-servers', 'server-id': serverId });
    await call('POST', '/servers', serverBody('a', managed('s1')));
    await call('POST', '/servers', serverBody('b', managed('s1')));
    await call('POST', '/servers', serverBody('c', managed('s2')));
    await call('POST', '/servers', serverBody('d', { 'managed-by': 'someone-else', 'server-id': 's9' }));
    const { servers } = cloud.inspect();
    expect([...duplicateServers(servers)].map(([serverId, group]) => [serverId, group.map((server) => server.name)])).toEqual([['s1', ['a', 'b']]]);
    expect(orphanServers(servers, ['s1']).map((server) => server.name)).toEqual(['c']);
    await call('DELETE', '/servers/2');
    expect(duplicateServers(cloud.inspect().servers).size).toBe(0);
  });

  test('the admin API shows the state, changes settings and injects faults; bad settings are refused', async () => {
    const { call, cloud } = await start();
    await call('POST', '/servers', serverBody('a'));
    const state = (await (await fetch(`${cloud.adminUrl}/state`)).json()) as { servers: { name: string }[] };
    expect(state.servers.map((server) => server.name)).toEqual(['a']);
    const patch = await fetch(`${cloud.adminUrl}/settings`, { method: 'PATCH', body: JSON.stringify({ capacity: 1 }) });
    expect(((await patch.json()) as { settings: { capacity: number } }).settings.capacity).toBe(1);
    expect((await call('POST', '/servers', serverBody('b'))).status).toBe(412);
    expect((await fetch(`${cloud.adminUrl}/settings`, { method: 'PATCH', body: JSON.stringify({ capacity: -1 }) })).status).toBe(422);
    expect((await fetch(`${cloud.adminUrl}/settings`, { method: 'PATCH', body: JSON.stringify({ colour: 'red' }) })).status).toBe(422);
    await fetch(`${cloud.adminUrl}/faults/fail-next`, { method: 'POST', body: JSON.stringify({ count: 1, code: 'server_error' }) });
    expect((await call('GET', '/servers')).status).toBe(500);
    expect((await fetch(`${cloud.adminUrl}/faults/fail-next`, { method: 'POST', body: JSON.stringify({ count: 1, code: 'made_up' }) })).status).toBe(422);
    await fetch(`${cloud.adminUrl}/rate-limit`, { method: 'PUT', body: JSON.stringify({ remaining: 0 }) });
    expect((await call('GET', '/servers')).status).toBe(429);
    await fetch(`${cloud.adminUrl}/rate-limit`, { method: 'PUT', body: JSON.stringify({ remaining: 10 }) });
    const { requests } = (await (await fetch(`${cloud.adminUrl}/requests`)).json()) as { requests: { method: string; path: string; status: number; code?: string }[] };
    expect(requests.slice(-2)).toEqual([
      { at: expect.any(Number), method: 'GET', path: '/v1/servers', status: 500, code: 'server_error', servers: [] },
      { at: expect.any(Number), method: 'GET', path: '/v1/servers', status: 429, code: 'rate_limit_exceeded', servers: [] },
    ]);
    await fetch(`${cloud.adminUrl}/faults/lose-next`, { method: 'POST', body: JSON.stringify({ count: 1 }) });
    await fetch(`${cloud.adminUrl}/faults/clear`, { method: 'POST' });
    expect((await call('DELETE', '/servers/1')).status).toBe(200);
  });

  test('the admin API removes a server at once, behind whatever manages it; an unknown one is 404 not_found', async () => {
    const { call, cloud } = await start();
    await call('POST', '/servers', serverBody('a'));
    await call('POST', '/servers', serverBody('b'));
    const removed = await fetch(`${cloud.adminUrl}/servers/1`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(cloud.inspect().servers.map((server) => server.name)).toEqual(['b']);
    expect((await call('GET', '/servers/1')).body.error.code).toBe('not_found');
    const again = await fetch(`${cloud.adminUrl}/servers/1`, { method: 'DELETE' });
    expect({ status: again.status, code: ((await again.json()) as { error: { code: string } }).error.code }).toEqual({ status: 404, code: 'not_found' });
  });
});

test('bad options are refused with a LocalCloudConfigError naming them', async () => {
  await expect(startLocalCloud({ capacity: -1 })).rejects.toThrow(LocalCloudConfigError);
  await expect(startLocalCloud({ faults: { errorRate: 2 } })).rejects.toThrow(/errorRate/);
  await expect(startLocalCloud({ delays: { booting: 5 } as never })).rejects.toThrow(LocalCloudConfigError);
  await expect(startLocalCloud({ port: 70000 })).rejects.toThrow(/port/);
  await expect(startLocalCloud({ profile: 'strict' })).rejects.toThrow('the strict profile requires a token');
  await expect(startLocalCloud({ snapshots: [{ description: 'x', status: 'gone' as never }] })).rejects.toThrow(LocalCloudConfigError);
});
