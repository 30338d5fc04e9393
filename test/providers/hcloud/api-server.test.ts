// The Hetzner API test server answers in the shapes the public API documentation gives, so the hcloud client is
// tested against the documented API and not against itself: create answers, action polling, pagination meta,
// RateLimit-* headers on every answer, and error bodies with the documented status per code.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { ERROR_STATUS, startHcloudApiServer, type HcloudApiServer } from '../../support/hcloud-api-server/index.ts';

const TOKEN = 'api-server-test-token';
let api: HcloudApiServer;

async function call(method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  api = await startHcloudApiServer({ token: TOKEN, durations: { create_server: 200 } });
});

afterAll(async () => {
  await api?.stop();
});

test('POST /servers answers 201 { server, action, next_actions, root_password }; the create action is polled to success', async () => {
  const created = await call('POST', '/servers', { name: 'doc-1', server_type: 'cx22', image: 'ubuntu-24.04', location: 'fsn1', labels: { role: 'x' } });
  expect(created.status).toBe(201);
  expect(Object.keys(created.body).sort()).toEqual(['action', 'next_actions', 'root_password', 'server']);
  const server = created.body.server as { id: number; status: string; public_net: { ipv4: { ip: string } } };
  const action = created.body.action as { id: number; command: string; status: string; resources: unknown[]; error: unknown };
  expect(server.status).toBe('initializing');
  expect(action).toEqual(expect.objectContaining({ command: 'create_server', status: 'running', resources: [{ id: server.id, type: 'server' }], error: null }));
  let polled = await call('GET', `/actions/${action.id}`);
  expect((polled.body.action as { status: string }).status).toBe('running');
  for (let attempt = 0; attempt < 100 && (polled.body.action as { status: string }).status === 'running'; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    polled = await call('GET', `/actions/${action.id}`);
  }
  expect(polled.body.action).toEqual(expect.objectContaining({ status: 'success', progress: 100, finished: expect.any(String) }));
  expect(((await call('GET', `/servers/${server.id}`)).body.server as { status: string }).status).toBe('running');
});

test('lists carry meta.pagination with page, per_page, previous_page, next_page, last_page and total_entries', async () => {
  for (let index = 0; index < 4; index += 1) await call('POST', '/servers', { name: `page-${index}`, server_type: 'cx22', image: 'ubuntu-24.04', labels: { paged: 'yes' } });
  const second = await call('GET', '/servers?label_selector=paged%3Dyes&page=2&per_page=3');
  expect((second.body.servers as unknown[]).length).toBe(1);
  expect((second.body.meta as { pagination: unknown }).pagination).toEqual({ page: 2, per_page: 3, previous_page: 1, next_page: null, last_page: 2, total_entries: 4 });
  expect((await call('GET', '/servers?per_page=51')).body.error).toEqual(expect.objectContaining({ code: 'invalid_input' }));
});

test('every answer, errors included, carries RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset', async () => {
  for (const answer of [await call('GET', '/servers'), await call('GET', '/servers/1'), await call('GET', '/servers', undefined, 'wrong')]) {
    expect(Number(answer.headers.get('ratelimit-limit'))).toBe(3600);
    expect(answer.headers.get('ratelimit-remaining')).toMatch(/^\d+$/);
    expect(Number(answer.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
  }
});

test('errors come as { error: { code, message, details } } with the documented status of their code', async () => {
  const cases: [Promise<{ status: number; body: Record<string, unknown> }>, string][] = [
    [call('GET', '/servers', undefined, 'wrong'), 'unauthorized'],
    [call('GET', '/servers/424242'), 'not_found'],
    [call('POST', '/servers', { name: 'doc-1', server_type: 'cx22', image: 'ubuntu-24.04' }), 'uniqueness_error'],
    [call('POST', '/servers', { name: 'bad name!', server_type: 'cx22', image: 'ubuntu-24.04' }), 'invalid_input'],
    [call('GET', '/servers?label_selector=a%20in%20(b'), 'invalid_input'],
  ];
  for (const [pending, code] of cases) {
    const answer = await pending;
    expect(answer.status).toBe(ERROR_STATUS[code]);
    expect(answer.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object) } });
  }
  api.rateLimiter.setRemaining(0);
  const limited = await call('GET', '/servers');
  expect(limited.status).toBe(429);
  expect((limited.body.error as { code: string }).code).toBe('rate_limit_exceeded');
  expect(limited.headers.get('ratelimit-remaining')).toBe('0');
  api.rateLimiter.setRemaining(3600);
});

test('label selectors follow the documented syntax: =, ==, !=, key, !key, in and notin', async () => {
  const names = async (selector: string) =>
    ((await call('GET', `/servers?label_selector=${encodeURIComponent(selector)}`)).body.servers as { name: string }[]).map((server) => server.name).sort();
  expect(await names('role=x')).toEqual(['doc-1']);
  expect(await names('role==x')).toEqual(['doc-1']);
  expect(await names('paged,role!=x')).toEqual(['page-0', 'page-1', 'page-2', 'page-3']);
  expect(await names('!paged')).toEqual(['doc-1']);
  expect(await names('role in (x,y)')).toEqual(['doc-1']);
  expect(await names('paged notin (yes)')).toEqual(['doc-1']);
});
