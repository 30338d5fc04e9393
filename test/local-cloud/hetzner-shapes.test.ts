// The local cloud answers in the shapes of the Hetzner Cloud API reference, so clients are tested against the
// documented API and not against themselves: the create answer and its actions, action polling, pagination meta,
// RateLimit-* headers on every answer, error bodies with the documented status per code, label selectors, images
// with labels, server types, locations and pricing. (Hetzner's own Go client decodes all of it: hcloud-go.test.ts.)
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ERROR_STATUS } from '../../src/local-cloud/errors.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';

const TOKEN = 'hetzner-shapes-token';
let cloud: LocalCloud;

async function call(method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${cloud.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.headers.get('content-type')).toBe('application/json');
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/;

beforeAll(async () => {
  cloud = await startLocalCloud({
    profile: 'strict',
    token: TOKEN,
    delays: { initializing: 200 },
    snapshots: [{ description: 'worker v1', labels: { role: 'worker' }, created: '2026-01-01T00:00:00Z' }],
  });
});

afterAll(async () => {
  await cloud?.stop();
});

test('POST /servers answers 201 { server, action, next_actions, root_password } with Hetzner’s full server object; its actions are polled to success', async () => {
  const created = await call('POST', '/servers', { name: 'doc-1', server_type: 'cx22', image: 'ubuntu-24.04', location: 'fsn1', labels: { role: 'x' } });
  expect(created.status).toBe(201);
  expect(Object.keys(created.body).sort()).toEqual(['action', 'next_actions', 'root_password', 'server']);
  const server = created.body.server as Record<string, unknown> & { id: number };
  expect(Object.keys(server).sort()).toEqual(
    [
      'backup_window', 'created', 'id', 'image', 'included_traffic', 'ingoing_traffic', 'iso', 'labels', 'load_balancers', 'location', 'locked', 'name',
      'outgoing_traffic', 'placement_group', 'primary_disk_size', 'private_net', 'protection', 'public_net', 'rescue_enabled', 'server_type', 'status', 'volumes',
    ].sort(),
  );
  expect(server).toMatchObject({
    name: 'doc-1',
    status: 'initializing',
    created: expect.stringMatching(TIME),
    public_net: { ipv4: { id: expect.any(Number), ip: expect.any(String), blocked: false, dns_ptr: expect.any(String) }, ipv6: { ip: expect.any(String), dns_ptr: [] }, floating_ips: [], firewalls: [] },
    server_type: { name: 'cx22', cores: 2, memory: 4, disk: 40, cpu_type: 'shared', architecture: 'x86', prices: expect.arrayContaining([expect.objectContaining({ location: 'fsn1' })]) },
    location: { name: 'fsn1', city: 'Falkenstein', country: 'DE', network_zone: 'eu-central' },
    image: { name: 'ubuntu-24.04', type: 'system', status: 'available' },
    labels: { role: 'x' },
    protection: { delete: false, rebuild: false },
  });
  const action = created.body.action as { id: number };
  expect(action).toEqual({ id: expect.any(Number), command: 'create_server', status: 'running', progress: 0, started: expect.stringMatching(TIME), finished: null, resources: [{ id: server.id, type: 'server' }], error: null });
  expect(created.body.next_actions).toEqual([expect.objectContaining({ command: 'start_server', status: 'running' })]);
  let polled = await call('GET', `/actions/${action.id}`);
  expect((polled.body.action as { status: string }).status).toBe('running');
  for (let attempt = 0; attempt < 100 && (polled.body.action as { status: string }).status === 'running'; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    polled = await call('GET', `/actions/${action.id}`);
  }
  expect(polled.body.action).toEqual(expect.objectContaining({ status: 'success', progress: 100, finished: expect.stringMatching(TIME) }));
  expect(((await call('GET', `/servers/${server.id}`)).body.server as { status: string }).status).toBe('running');
  const byIds = await call('GET', `/actions?id=${action.id}&sort=status&sort=id`);
  expect((byIds.body.actions as { id: number }[]).map((entry) => entry.id)).toEqual([action.id]);
  expect((await call('GET', '/actions')).body.error).toEqual(expect.objectContaining({ code: 'invalid_input' }));
});

test('lists carry meta.pagination with page, per_page, previous_page, next_page, last_page and total_entries', async () => {
  for (let index = 0; index < 4; index += 1) await call('POST', '/servers', { name: `page-${index}`, server_type: 'cx22', image: 'ubuntu-24.04', labels: { paged: 'yes' } });
  const second = await call('GET', '/servers?label_selector=paged%3Dyes&page=2&per_page=3&sort=name:desc');
  expect((second.body.servers as { name: string }[]).map((server) => server.name)).toEqual(['page-0']);
  expect((second.body.meta as { pagination: unknown }).pagination).toEqual({ page: 2, per_page: 3, previous_page: 1, next_page: null, last_page: 2, total_entries: 4 });
  expect((await call('GET', '/servers?per_page=51')).body.error).toEqual(expect.objectContaining({ code: 'invalid_input' }));
  expect((await call('GET', '/servers?sort=colour')).body.error).toEqual(expect.objectContaining({ code: 'invalid_input' }));
  expect((await call('GET', '/servers?status=sleeping')).body.error).toEqual(expect.objectContaining({ code: 'invalid_input' }));
});

test('every answer, errors included, carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset', async () => {
  for (const answer of [await call('GET', '/servers'), await call('GET', '/servers/424242'), await call('GET', '/servers', undefined, 'wrong'), await call('GET', '/volumes')]) {
    expect(Number(answer.headers.get('ratelimit-limit'))).toBe(3600);
    expect(answer.headers.get('ratelimit-remaining')).toMatch(/^\d+$/);
    expect(Number(answer.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
  }
});

test('errors come as { error: { code, message, details } } with the documented status of their code', async () => {
  cloud.updateSettings({ delays: { initializing: 600_000 } });
  const booting = (await call('POST', '/servers', { name: 'booting', server_type: 'cx22', image: 'ubuntu-24.04', labels: { booting: 'yes' } })).body.server as { id: number };
  const cases: [Promise<{ status: number; body: Record<string, unknown> }>, string][] = [
    [call('GET', '/servers', undefined, 'wrong'), 'unauthorized'],
    [call('GET', '/servers/424242'), 'not_found'],
    [call('POST', '/servers', { name: 'doc-1', server_type: 'cx22', image: 'ubuntu-24.04' }), 'uniqueness_error'],
    [call('POST', '/servers', { name: 'bad name!', server_type: 'cx22', image: 'ubuntu-24.04' }), 'invalid_input'],
    [call('GET', '/servers?label_selector=a%20in%20(b'), 'invalid_input'],
    [call('POST', `/servers/${booting.id}/actions/reboot`), 'locked'],
  ];
  for (const [pending, code] of cases) {
    const answer = await pending;
    expect(answer.status).toBe(ERROR_STATUS[code]);
    expect(answer.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
  }
  for (const [code, status] of [['conflict', 409], ['resource_limit_exceeded', 403], ['resource_unavailable', 412], ['unavailable', 503], ['invalid_input', 422], ['token_readonly', 401], ['rate_limit_exceeded', 429]] as const) {
    cloud.failNext({ count: 1, code, match: { method: 'GET', pathPrefix: '/locations' } });
    expect(await call('GET', '/locations')).toMatchObject({ status, body: { error: { code } } });
  }
  cloud.setRateLimitRemaining(0);
  const limited = await call('GET', '/servers');
  expect(limited.status).toBe(429);
  expect((limited.body.error as { code: string }).code).toBe('rate_limit_exceeded');
  expect(limited.headers.get('ratelimit-remaining')).toBe('0');
  cloud.setRateLimitRemaining(3600);
});

test('label selectors follow the documented syntax: =, ==, !=, key, !key, in and notin', async () => {
  const names = async (selector: string) =>
    ((await call('GET', `/servers?label_selector=${encodeURIComponent(selector)}`)).body.servers as { name: string }[]).map((server) => server.name).sort();
  expect(await names('role=x')).toEqual(['doc-1']);
  expect(await names('role==x')).toEqual(['doc-1']);
  expect(await names('paged,role!=x')).toEqual(['page-0', 'page-1', 'page-2', 'page-3']);
  expect(await names('!paged,!booting')).toEqual(['doc-1']);
  expect(await names('role in (x,y)')).toEqual(['doc-1']);
  expect(await names('paged notin (yes),booting notin (yes)')).toEqual(['doc-1']);
});

test('images: snapshots with labels, selected by type, status and label_selector, newest first on request', async () => {
  const snapshots = await call('GET', '/images?type=snapshot&status=available&label_selector=role%3Dworker&sort=created:desc');
  expect(snapshots.body.images).toEqual([
    expect.objectContaining({ id: 1001, type: 'snapshot', status: 'available', name: null, description: 'worker v1', labels: { role: 'worker' }, created: '2026-01-01T00:00:00+00:00' }),
  ]);
  expect(((await call('GET', '/images?type=system')).body.images as { name: string }[]).map((image) => image.name)).toEqual(['ubuntu-24.04']);
  expect((await call('GET', '/images/1001')).body.image).toMatchObject({ id: 1001, labels: { role: 'worker' } });
  expect((await call('GET', '/images/9')).body.error).toEqual(expect.objectContaining({ code: 'not_found' }));
});

test('server types, locations and pricing are listed with Hetzner’s fields, by id and by name', async () => {
  const types = (await call('GET', '/server_types')).body.server_types as Record<string, unknown>[];
  expect(types.map((type) => type.name)).toEqual(['cx22', 'cx32', 'cpx11', 'cax11', 'ccx13']);
  expect(types[3]).toMatchObject({ name: 'cax11', architecture: 'arm', storage_type: 'local', deprecated: false, deprecation: null, locations: expect.arrayContaining([{ id: 1, name: 'fsn1', deprecation: null, available: true, recommended: true }]) });
  expect((await call('GET', '/server_types?name=cx32')).body.server_types).toEqual([expect.objectContaining({ id: 2, name: 'cx32', cores: 4 })]);
  expect((await call('GET', '/server_types/2')).body.server_type).toMatchObject({ name: 'cx32' });
  const locations = (await call('GET', '/locations')).body.locations as Record<string, unknown>[];
  expect(locations.map((location) => location.name)).toEqual(['fsn1', 'nbg1', 'hel1', 'ash', 'hil', 'sin']);
  expect((await call('GET', '/locations/4')).body.location).toEqual({ id: 4, name: 'ash', description: 'Ashburn, VA', country: 'US', city: 'Ashburn, VA', latitude: 39.045821, longitude: -77.487073, network_zone: 'us-east' });
  const pricing = (await call('GET', '/pricing')).body.pricing as { currency: string; server_types: { name: string; prices: { location: string; price_hourly: { net: string; gross: string } }[] }[] };
  expect(pricing.currency).toBe('EUR');
  expect(pricing.server_types.find((type) => type.name === 'cx22')!.prices).toHaveLength(6);
  expect(pricing.server_types[0]!.prices[0]!.price_hourly).toEqual({ net: expect.stringMatching(/^\d+\.\d+$/), gross: expect.stringMatching(/^\d+\.\d+$/) });
});
