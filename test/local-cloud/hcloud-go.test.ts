// Must-show 1 of issue 14: Hetzner's official Go client, hcloud-go (module github.com/hetznercloud/hcloud-go/v2 from
// the Go module proxy), accepts the local cloud. test/fixtures/hcloud-go-check (go.mod and go.sum committed) is
// built into the cache and run against a local cloud in its strict profile: create from a labelled snapshot and wait
// for the actions, get, list by label across 3 pages, reboot, shutdown, poweron, update labels, delete and get not
// found; server types, locations and pricing; a duplicate name, a bad token and an exhausted bucket answer with
// their Hetzner error codes. Every answer is also decoded into hcloud-go's schema types and compared field by field.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import { cacheRoot } from '../../src/toolchain/paths.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';

const SOURCE = join(import.meta.dirname, '..', 'fixtures', 'hcloud-go-check');
const BINARY = join(cacheRoot(), 'hcloud-go-check', 'hcloud-go-check');
/** A Hetzner API token is 64 characters. */
const TOKEN = randomBytes(32).toString('hex');
const STEP_MS = 100;

/** The fields hcloud-go's schema has that Hetzner no longer sends (so neither does the local cloud). */
const REMOVED_BY_HETZNER = [
  // "ServerType.IncludedTraffic is deprecated and will always report 0 after 2024-08-05" (hcloud-go): moved to prices.
  /(^|\.)server_types?(\[\])?\.included_traffic$/,
  // "Deprecated: the API does not return pricing for the individual DCs anymore" (hcloud-go, schema/pricing.go).
  /^pricing\.primary_ips\[\]\.prices\[\]\.datacenter$/,
  // "Pricing.Traffic is deprecated and will report 0 after 2024-08-05" (hcloud-go); the API reference has no pricing.traffic.
  /^pricing\.traffic$/,
];

let cloud: LocalCloud;
let limited: LocalCloud;
let report: Record<string, unknown> & { created: { id: number }; shapes: { extra: string[]; missing: string[]; decodeErrors: string[]; routes: string[]; responsesChecked: number } };

beforeAll(async () => {
  await mkdir(join(cacheRoot(), 'hcloud-go-check'), { recursive: true });
  const build = await runCommand('go', ['build', '-trimpath', '-o', BINARY, '.'], {
    cwd: SOURCE,
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly', CGO_ENABLED: '0' },
  });
  if (build.code !== 0) throw new Error(`go build of ${SOURCE} failed (exit ${build.code}):\n${build.stderr}`);

  const now = Date.now();
  cloud = await startLocalCloud({
    profile: 'strict',
    token: TOKEN,
    delays: { initializing: STEP_MS, starting: STEP_MS, stopping: STEP_MS, rebooting: STEP_MS, deleting: STEP_MS },
    snapshots: [
      { description: 'go-check v1', labels: { role: 'go-check' }, created: new Date(now - 2000).toISOString() },
      { description: 'go-check v2', labels: { role: 'go-check', release: 'two' }, created: new Date(now - 1000).toISOString() },
      { description: 'unrelated', labels: { role: 'other' }, created: new Date(now).toISOString() },
    ],
  });
  limited = await startLocalCloud({ profile: 'strict', token: TOKEN, rateLimit: { limit: 3, refillPerSecond: 0.001 } });
  const run = await runCommand(BINARY, [], { env: { ...process.env, HCLOUD_ENDPOINT: cloud.url, HCLOUD_TOKEN: TOKEN, LIMITED_ENDPOINT: limited.url } });
  if (run.code !== 0) throw new Error(`hcloud-go-check exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  report = JSON.parse(run.stdout) as typeof report;
}, 600_000);

afterAll(async () => {
  await cloud?.stop();
  await limited?.stop();
});

test('server types, locations and pricing decode, and the newest labelled snapshot is found', () => {
  expect(report.serverTypes).toEqual(['cx22', 'cx32', 'cpx11', 'cax11', 'ccx13']);
  expect(report.locations).toEqual(['fsn1', 'nbg1', 'hel1', 'ash', 'hil', 'sin']);
  expect(report.pricing).toEqual({ currency: 'EUR', serverTypes: 5 });
  expect(report.snapshot).toEqual({ id: 1002, description: 'go-check v2', labels: { role: 'go-check', release: 'two' } });
});

test('a server created from the snapshot is initializing; its create and start actions are waited for and succeed; get shows it running', () => {
  expect(report.created).toEqual({ id: expect.any(Number), status: 'initializing', action: 'create_server', nextActions: ['start_server'], actionsStatus: ['success', 'success'] });
  expect(report.got).toEqual({
    name: 'go-check-1',
    status: 'running',
    serverType: 'cx22',
    location: 'fsn1',
    imageId: 1002,
    labels: { batch: 'go', role: 'check' },
    ipv4: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/),
    created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
  });
});

test('listing by label two per page takes three pages with Hetzner’s pagination meta', () => {
  expect(report.pages).toEqual([
    { page: 1, nextPage: 2, lastPage: 3, totalEntries: 5, names: ['go-check-1', 'go-check-2'] },
    { page: 2, nextPage: 3, lastPage: 3, totalEntries: 5, names: ['go-check-3', 'go-check-4'] },
    { page: 3, nextPage: 0, lastPage: 3, totalEntries: 5, names: ['go-check-5'] },
  ]);
});

test('reboot, shutdown and poweron are actions that finish, and the server ends running, off and running', () => {
  expect(report.reboot).toEqual({ command: 'reboot_server', statusAfter: 'running' });
  expect(report.shutdown).toEqual({ command: 'shutdown_server', statusAfter: 'off' });
  expect(report.poweron).toEqual({ command: 'start_server', statusAfter: 'running' });
  expect(cloud.statusHistory(report.created.id).map((entry) => entry.status)).toEqual(['initializing', 'running', 'rebooting', 'running', 'stopping', 'off', 'starting', 'running', 'deleting', 'gone']);
});

test('labels are replaced by an update; after delete the server is not found', () => {
  expect(report.updatedLabels).toEqual({ batch: 'go', role: 'updated', stage: 'done' });
  expect(report.deleted).toEqual({ action: 'delete_server', found: false, getHttpStatus: 404, rebootAfterDelete: 'not_found' });
});

test('a duplicate name is uniqueness_error, a bad token unauthorized, an exhausted bucket rate_limit_exceeded with the RateLimit headers', () => {
  expect(report.duplicate).toEqual({ code: 'uniqueness_error', httpStatus: 409 });
  expect(report.badToken).toEqual({ code: 'unauthorized', httpStatus: 401 });
  expect(report.rateLimit).toEqual({ code: 'rate_limit_exceeded', httpStatus: 429, requestsBeforeLimit: 3, limit: 3, remaining: 0, reset: expect.any(Number) });
  expect((report.rateLimit as { reset: number }).reset).toBeGreaterThan(Date.now() / 1000);
});

test('every answer decodes into hcloud-go’s schema types with no field it lacks, and lacks only what Hetzner removed', () => {
  expect(report.shapes.decodeErrors).toEqual([]);
  expect(report.shapes.extra).toEqual([]);
  expect(report.shapes.missing.filter((field) => !REMOVED_BY_HETZNER.some((removed) => removed.test(field)))).toEqual([]);
  expect(report.shapes.missing).toEqual(expect.arrayContaining(['server.server_type.included_traffic', 'pricing.primary_ips[].prices[].datacenter', 'pricing.traffic']));
  expect(report.shapes.routes).toEqual(
    expect.arrayContaining([
      'GET /servers', 'POST /servers', 'GET /servers/{id}', 'PUT /servers/{id}', 'DELETE /servers/{id}', 'POST /servers/{id}/actions/reboot', 'POST /servers/{id}/actions/shutdown',
      'POST /servers/{id}/actions/poweron', 'GET /actions', 'GET /actions/{id}', 'GET /images', 'GET /server_types', 'GET /locations', 'GET /pricing', 'error 401', 'error 404', 'error 409', 'error 429',
    ]),
  );
  expect(report.shapes.responsesChecked).toBeGreaterThan(30);
});
