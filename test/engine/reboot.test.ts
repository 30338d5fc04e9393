// records.reboot(type) through the real engine on the local cloud: the verify pass sends each reboot to the cloud
// exactly once (also when passes run at once, and after a transient failure), records `running` only once the
// cloud ran the reboot, errors the server when the cloud refuses it (deleted and replaced by the default policy),
// and reboots again for a request made during a reboot.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ServerApi, ServerProvider } from '../../providers/contract.ts';
import { StackEngine } from '../../src/engine/stack-engine.ts';
import { verifyServers } from '../../src/engine/verifier.ts';
import type { ServerRecord } from '../../src/records/records.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

/** How long the local cloud takes to reboot a server (ms). */
const REBOOT_MS = 400;

let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld({ cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: REBOOT_MS, deleting: 100 } } });
  await world.records.ensure('demo', 2);
  await world.engine.converge('demo', { pollMs: 100 });
});

afterAll(async () => {
  await world?.close();
});

/** The demo servers that are running or rebooting, oldest first. */
function liveRows(): Promise<ServerRecord[]> {
  return world.records.servers({ serverType: 'demo', status: ['running', 'rebooting'] });
}

/** Reboot actions the local cloud took, by provider id, for `rows`. */
function rebootActions(rows: readonly ServerRecord[]): Record<string, number> {
  const cloud = world.cloud.inspect().servers;
  return Object.fromEntries(rows.map((row) => [row.providerId!, cloud.find((server) => String(server.id) === row.providerId)?.actions.reboot_server ?? 0]));
}

/** `rows`' reboot counts plus `by`. */
function plus(counts: Record<string, number>, by: number, only?: readonly ServerRecord[]): Record<string, number> {
  const ids = only?.map((row) => row.providerId!);
  return Object.fromEntries(Object.entries(counts).map(([id, count]) => [id, ids && !ids.includes(id) ? count : count + by]));
}

/** The cloud's status of each of `rows`, in order. */
function cloudStatuses(rows: readonly ServerRecord[]): string[] {
  const cloud = world.cloud.inspect().servers;
  return rows.map((row) => cloud.find((server) => String(server.id) === row.providerId)?.status ?? 'gone');
}

/** The last `count` transitions of server `id` as `from>to`. */
async function lastTransitions(id: number, count: number): Promise<string[]> {
  return (await world.records.statusHistory(id)).slice(-count).map((change) => `${change.from}>${change.to}`);
}

test('a reboot request reboots each running server exactly once; each is recorded running after the cloud rebooted it', async () => {
  const rows = await liveRows();
  expect(rows.map((row) => row.status)).toEqual(['running', 'running']);
  const before = rebootActions(rows);
  expect(Object.values(before)).toEqual([0, 0]);

  const request = await world.records.reboot('demo');
  expect(request.rebootingServerIds).toEqual(rows.map((row) => row.id));
  await world.engine.converge('demo', { pollMs: 100 });

  expect(rebootActions(rows)).toEqual(plus(before, 1));
  expect(cloudStatuses(rows)).toEqual(['running', 'running']);
  for (const row of rows) {
    expect(await world.records.server(row.id)).toMatchObject({ status: 'running', rebootRequestedAt: null, rebootSentAt: null });
    expect(await lastTransitions(row.id, 3)).toEqual(['starting>running', 'running>rebooting', 'rebooting>running']);
    const [rebooting, running] = (await world.records.statusHistory(row.id)).slice(-2);
    expect(running!.reason).toMatch(/after the reboot$/);
    // The cloud's reboot began after the row went rebooting and lasts REBOOT_MS: running cannot be recorded sooner.
    expect(running!.changedAt.getTime() - rebooting!.changedAt.getTime()).toBeGreaterThanOrEqual(REBOOT_MS);
  }

  for (let pass = 0; pass < 2; pass += 1) {
    expect(await world.engine.verify('demo')).toEqual({ running: [], deleted: [], errored: [], waiting: [], rebootsSent: [] });
  }
  expect(rebootActions(rows)).toEqual(plus(before, 1));
});

test('a reboot requested while the servers reboot runs once that reboot ended: the cloud counts two reboots', async () => {
  const rows = await liveRows();
  const before = rebootActions(rows);
  await world.records.reboot('demo');
  const first = await world.engine.verify('demo');
  expect(first.rebootsSent.sort()).toEqual(rows.map((row) => row.name).sort());
  for (const row of await liveRows()) expect(row).toMatchObject({ status: 'rebooting', rebootSentAt: expect.any(Date) });

  // Both reboots are under way (sent to the cloud, not yet seen running): the request must not be dropped.
  const during = await world.records.reboot('demo');
  expect(during).toMatchObject({ rebootingServerIds: [], deferredServerIds: rows.map((row) => row.id), changed: true });
  await world.engine.converge('demo', { pollMs: 100 });

  expect(rebootActions(rows)).toEqual(plus(before, 2));
  expect(cloudStatuses(rows)).toEqual(['running', 'running']);
  for (const row of rows) {
    expect(await world.records.server(row.id)).toMatchObject({ status: 'running', rebootRequestedAt: null, rebootSentAt: null });
    expect((await world.records.statusHistory(row.id)).slice(-4).map((change) => change.to)).toEqual(['rebooting', 'running', 'rebooting', 'running']);
    const [, firstRunning, secondRebooting] = (await world.records.statusHistory(row.id)).slice(-4);
    expect(firstRunning!.reason).toMatch(/after the reboot$/);
    expect(secondRebooting!.reason).toMatch(/^reboot requested at \S+ while rebooting$/);
  }
});

test('the pass that sends a reboot does not take its own observation as proof, even when the cloud already reports running', async () => {
  world.cloud.updateSettings({ delays: { rebooting: 0 } });
  try {
    const rows = await liveRows();
    const before = rebootActions(rows);
    await world.records.reboot('demo');

    const first = await world.engine.verify('demo');
    expect(first).toMatchObject({ running: [], errored: [] });
    expect(first.rebootsSent.sort()).toEqual(rows.map((row) => row.name).sort());
    expect(first.waiting.sort()).toEqual(rows.map((row) => row.name).sort());
    expect(cloudStatuses(rows)).toEqual(['running', 'running']);
    for (const row of await liveRows()) {
      expect(row.status).toBe('rebooting');
      expect(row.rebootSentAt).toBeInstanceOf(Date);
    }

    const second = await world.engine.verify('demo');
    expect(second).toMatchObject({ errored: [], waiting: [], rebootsSent: [] });
    expect(second.running.sort()).toEqual(rows.map((row) => row.name).sort());
    expect(rebootActions(rows)).toEqual(plus(before, 1));
  } finally {
    world.cloud.updateSettings({ delays: { rebooting: REBOOT_MS } });
  }
});

test('two engines and a second pass of the same engine verifying at once send one reboot per server', async () => {
  const rows = await liveRows();
  const before = rebootActions(rows);
  const other = new StackEngine({ ...world.settings, records: world.records, databaseUrl: world.database.url, dataDir: world.dataDir, env: {} });
  await world.records.reboot('demo');

  const reports = await Promise.all([world.engine.verify('demo'), other.verify('demo'), world.engine.verify('demo')]);
  expect(reports.flatMap((report) => report.rebootsSent).sort()).toEqual(rows.map((row) => row.name).sort());
  expect(reports.flatMap((report) => report.errored)).toEqual([]);
  expect(rebootActions(rows)).toEqual(plus(before, 1));

  await Promise.all([world.engine.converge('demo', { pollMs: 100 }), other.converge('demo', { pollMs: 100 })]);
  expect(rebootActions(rows)).toEqual(plus(before, 1));
  expect(cloudStatuses(rows)).toEqual(['running', 'running']);
  for (const row of rows) expect(await lastTransitions(row.id, 2)).toEqual(['running>rebooting', 'rebooting>running']);
});

test('two passes over the same rows at once, without the engine\'s lock, still send one reboot per server (the claim)', async () => {
  const rows = await liveRows();
  const before = rebootActions(rows);
  await world.records.reboot('demo');
  const rebooting = await world.records.servers({ serverType: 'demo', status: 'rebooting' });
  expect(rebooting).toHaveLength(2);
  const provider = await world.engine.provider('demo');

  const reports = await Promise.all([verifyServers(world.records, provider, rebooting), verifyServers(world.records, provider, rebooting)]);
  expect(reports.flatMap((report) => report.rebootsSent).sort()).toEqual(rows.map((row) => row.name).sort());
  expect(reports.flatMap((report) => report.waiting)).toHaveLength(4);
  expect(rebootActions(rows)).toEqual(plus(before, 1));

  await world.engine.converge('demo', { pollMs: 100 });
  expect(rebootActions(rows)).toEqual(plus(before, 1));
});

test('a transient failure of the reboot call gives the claim back; the next pass sends it, and exactly one reboot results', async () => {
  const rows = await liveRows();
  const [failing, other] = rows as [ServerRecord, ServerRecord];
  const before = rebootActions(rows);
  const injected = world.cloud.inspect().stats.injectedErrors;
  // A Retry-After beyond the client's limit hands the TransientProviderError to the verifier at once.
  world.cloud.failNext({ count: 1, code: 'unavailable', retryAfterSeconds: 3600, match: { method: 'POST', pathPrefix: `/servers/${failing.providerId}/actions/reboot` } });
  await world.records.reboot('demo');

  const first = await world.engine.verify('demo');
  expect(world.cloud.inspect().stats.injectedErrors).toBe(injected + 1);
  expect(first).toMatchObject({ running: [], errored: [], rebootsSent: [other.name] });
  expect(first.waiting.sort()).toEqual([failing.name, other.name].sort());
  expect(await world.records.server(failing.id)).toMatchObject({ status: 'rebooting', rebootSentAt: null });
  expect(rebootActions(rows)).toEqual(plus(before, 1, [other]));

  const second = await world.engine.verify('demo');
  expect(second.rebootsSent).toEqual([failing.name]);
  expect(rebootActions(rows)).toEqual(plus(before, 1));

  await world.engine.converge('demo', { pollMs: 100 });
  expect(rebootActions(rows)).toEqual(plus(before, 1));
  for (const row of rows) {
    expect(await world.records.server(row.id)).toMatchObject({ status: 'running', rebootSentAt: null, rebootRequestedAt: null });
    expect(await lastTransitions(row.id, 2)).toEqual(['running>rebooting', 'rebooting>running']);
  }
});

test('a provider without reboot records the server running again without a reboot', async () => {
  const rows = await liveRows();
  const before = rebootActions(rows);
  const provider = await world.engine.provider('demo');
  const api: ServerApi = { observe: (id) => provider.api.observe(id), list: (labels) => provider.api.list(labels), delete: (id) => provider.api.delete(id) };
  const cannotReboot: ServerProvider = { ...provider, api };
  await world.records.reboot('demo');

  const report = await verifyServers(world.records, cannotReboot, await world.records.servers({ serverType: 'demo', status: 'rebooting' }));
  expect(report).toMatchObject({ errored: [], waiting: [], rebootsSent: [] });
  expect(report.running.sort()).toEqual(rows.map((row) => row.name).sort());
  expect(rebootActions(rows)).toEqual(before);
  for (const row of rows) {
    const last = (await world.records.statusHistory(row.id)).at(-1)!;
    expect(last).toMatchObject({ from: 'rebooting', to: 'running', reason: 'not rebooted: the local provider cannot reboot servers' });
  }
  await world.engine.converge('demo', { pollMs: 100 });
});

test('a reboot the cloud refuses errors the server with the provider\'s error (the default policy then deletes and replaces it); the other server still reboots', async () => {
  const rows = await liveRows();
  const [refused, other] = rows as [ServerRecord, ServerRecord];
  const before = rebootActions(rows);
  world.cloud.failNext({ count: 1, code: 'unsupported_error', match: { method: 'POST', pathPrefix: `/servers/${refused.providerId}/actions/reboot` } });
  await world.records.reboot('demo');

  const report = await world.engine.verify('demo');
  expect(report).toMatchObject({ running: [], errored: [refused.name], rebootsSent: [other.name], waiting: [other.name] });
  const errored = await world.records.server(refused.id);
  expect(errored.status).toBe('stopping');
  expect(errored.lastError).toMatchObject({ class: 'InvalidRequestError', message: expect.stringContaining('HTTP 422 unsupported_error') });
  expect(await lastTransitions(refused.id, 4)).toEqual(['running>rebooting', 'rebooting>errored', 'errored>draining', 'draining>stopping']);
  expect((await world.records.statusHistory(refused.id)).at(-3)?.reason).toBe('the cloud refused to reboot it');
  expect(rebootActions(rows)).toEqual(plus(before, 1, [other]));

  await world.engine.converge('demo', { pollMs: 100 });
  expect(await world.records.server(other.id)).toMatchObject({ status: 'running', rebootSentAt: null });
  expect(await world.records.server(refused.id)).toMatchObject({ status: 'deleted', lastError: { class: 'InvalidRequestError' } });
  expect((await liveRows()).map((row) => row.id)).toEqual([other.id, expect.any(Number)]);
  expect(cloudStatuses(rows)).toEqual(['gone', 'running']);
  expect(rebootActions([other])).toEqual({ [other.providerId!]: before[other.providerId!]! + 1 });
});
