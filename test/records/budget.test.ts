// Budgets, offerings and costs in the records, on a real embedded PostgreSQL: a budget is a limit like a server
// count (what fits is created, `limitHit` with scope `budget`, or ServerLimitError under `throw`), servers carry the
// price of the offering they were created on, a server the cloud refused moves on to the next offering that fits,
// and the costs add up the status history.
import { describe, expect, test } from '@jest/globals';
import { DynamicServers, ServerLimitError, UnknownPriceError, type DynamicServersOptions, type LimitHit, type OfferingUnavailable } from '../../src/api.ts';
import { recordsCoreOf } from '../../src/records/dynamic-servers.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { monthStart } from '../../src/records/costs.ts';
import { publishTypes, type TestServerType } from '../support/published-types.ts';
import { useRecordsDatabase, walk } from './support/records-database.ts';

const { database, opened } = useRecordsDatabase('records_budget');

/** Publishes `types` and `providers`, then opens the engine's records, recording limitHit and offeringUnavailable events. */
async function open(types: Record<string, TestServerType>, providers: Record<string, { maximum?: number; budget?: number }> = {}, options: Partial<DynamicServersOptions> = {}) {
  await publishTypes(database().url, types, providers);
  const servers = await EngineRecords.openForEngine({ databaseUrl: database().url, ...options });
  opened.push(servers);
  const hits: LimitHit[] = [];
  const unavailable: OfferingUnavailable[] = [];
  servers.on('limitHit', (hit) => hits.push(hit));
  servers.on('offeringUnavailable', (event) => unavailable.push(event));
  return { servers, hits, unavailable };
}

const WORKER: TestServerType = { provider: 'local', offerings: ['small'], prices: { small: 0.005 }, budget: 0.015 };

describe('a budget is a limit', () => {
  test("a budget of 3 servers' price per hour with ensure(type, 5): 3 created, a limitHit with scope budget", async () => {
    const { servers, hits } = await open({ worker: WORKER });
    const change = await servers.ensure('worker', 5);
    const hit: LimitHit = {
      scope: 'budget',
      serverType: 'worker',
      provider: 'local',
      maximum: 3,
      provisioned: 0,
      requested: 5,
      allowed: 3,
      budget: { of: 'serverType', perHour: 0.015, spentPerHour: 0, pricePerServer: 0.005, offering: 'small' },
    };
    expect(change).toMatchObject({ before: 0, after: 3, desiredCount: 3, limitHit: hit });
    expect(hits).toEqual([hit]);
    expect((await servers.servers({ serverType: 'worker' })).map((row) => [row.offering, row.hourlyPrice])).toEqual([
      ['small', 0.005],
      ['small', 0.005],
      ['small', 0.005],
    ]);
    // Spent to the last cent: nothing more fits; a server that stops counting makes room for one.
    expect(await servers.increase('worker')).toMatchObject({ after: 3, changed: false, limitHit: { scope: 'budget', allowed: 0, budget: { spentPerHour: 0.015 } } });
    await servers.recordFailure(change.createdServerIds[0]!, 'errored', { reason: 'test: refused' });
    expect(await servers.provisionedCount('worker')).toBe(3); // replaced, within the budget
    expect(await servers.increase('worker')).toMatchObject({ after: 3, limitHit: { scope: 'budget' } });
  });

  test("under onLimitHit 'throw' a request over the budget throws ServerLimitError and writes nothing", async () => {
    const { servers, hits } = await open({ worker: WORKER }, {}, { onLimitHit: 'throw' });
    await servers.ensure('worker', 2);
    const before = await database().checksums();
    const error = await servers.ensure('worker', 4).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerLimitError);
    expect((error as ServerLimitError).limit).toMatchObject({ scope: 'budget', maximum: 3, provisioned: 2, requested: 2, allowed: 0, budget: { spentPerHour: 0.01 } });
    expect((error as Error).message).toBe('server type "worker" has a budget of 0.015 per hour; its 2 provisioned servers cost 0.01, so 1 more at 0.005 (small) fit and 2 were requested');
    expect(await database().checksums()).toEqual(before);
    expect(hits).toEqual([]);
  });

  test("a provider's budget holds across its types, each server at its own offering's price", async () => {
    const { servers } = await open(
      { worker: { provider: 'local', offerings: ['small'], prices: { small: 0.01 } }, web: { provider: 'local', offerings: ['large'], prices: { large: 0.02 } } },
      { local: { budget: 0.05 } },
    );
    await servers.ensure('worker', 3);
    expect(await servers.ensure('web', 2)).toMatchObject({
      after: 1,
      limitHit: { scope: 'budget', provider: 'local', maximum: 4, provisioned: 3, allowed: 1, budget: { of: 'provider', perHour: 0.05, spentPerHour: 0.03, pricePerServer: 0.02 } },
    });
    expect(await servers.ensure('worker', 4)).toMatchObject({ after: 3, limitHit: { scope: 'budget', budget: { of: 'provider', spentPerHour: 0.05 } } });
  });

  test('a budget without a known price refuses the change (UnknownPriceError); prices read from the cloud count, the stack file wins', async () => {
    const { servers } = await open({ worker: { provider: 'local', offerings: ['small'], budget: 0.05 } });
    const before = await database().checksums();
    const error = await servers.ensure('worker', 1).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownPriceError);
    expect(error).toMatchObject({ serverType: 'worker', offerings: ['small'] });
    expect(await database().checksums()).toEqual(before);

    await servers.recordPrices('local', [{ offering: 'small', hourly: 0.02, currency: 'EUR' }]);
    expect(await servers.ensure('worker', 5)).toMatchObject({ after: 2, limitHit: { scope: 'budget', budget: { pricePerServer: 0.02 } } });
    await publishTypes(database().url, { worker: { provider: 'local', offerings: ['small'], budget: 0.05, prices: { small: 0.01 } } });
    expect(await servers.ensure('worker', 5)).toMatchObject({ after: 3, limitHit: { scope: 'budget', budget: { spentPerHour: 0.04, pricePerServer: 0.01 } } });
    await expect(servers.recordPrices('local', [{ offering: 'small', hourly: -1, currency: 'EUR' }])).rejects.toThrow(/prices must be/);
  });

  test('servers created before any price was known keep a budget from being counted until their price is', async () => {
    const { servers } = await open({ worker: { provider: 'local', offerings: ['small'] } });
    await servers.ensure('worker', 2);
    expect((await servers.servers({ serverType: 'worker' })).map((row) => row.hourlyPrice)).toEqual([null, null]);
    await publishTypes(database().url, { worker: { provider: 'local', offerings: ['small'], prices: { small: 0.01 }, budget: 0.05 } });
    await expect(servers.ensure('worker', 4)).rejects.toMatchObject({ name: 'UnknownPriceError', unpricedServers: 2 });
    await servers.recordPrices('local', [{ offering: 'small', hourly: 0.01, currency: 'EUR' }]);
    expect(await servers.ensure('worker', 9)).toMatchObject({ after: 5, limitHit: { scope: 'budget', budget: { spentPerHour: 0.02 } } });
  });
});

describe('offerings', () => {
  const TYPE: TestServerType = { provider: 'local', offerings: ['a', 'b', 'c'], prices: { a: 0.01, b: 0.01, c: 0.05 }, budget: 0.03 };

  test('a refused server moves on to the next offering; new servers skip the refused one; one that fits no budget is errored', async () => {
    const { servers, unavailable } = await open({ pool: TYPE });
    const script = await DynamicServers.open({ databaseUrl: database().url });
    opened.push(script);
    const heard: OfferingUnavailable[] = [];
    script.on('offeringUnavailable', (event) => heard.push(event));
    await recordsCoreOf(script).eventsListening();
    const first = await servers.ensure('pool', 2);
    const [one, two] = await Promise.all(first.createdServerIds.map((id) => servers.server(id)));
    expect([one!.offering, two!.offering]).toEqual(['a', 'a']);

    const refusal = { class: 'InsufficientCapacityError', message: 'server type a is unavailable in location x', stack: null };
    const moved = await servers.moveToNextOffering(one!.id, ['a', 'b', 'c'], { status: one!.status, since: one!.statusUpdatedAt }, refusal);
    expect(moved).toMatchObject({ movedTo: 'b', server: { id: one!.id, status: 'new', offering: 'b', hourlyPrice: 0.01 } });
    expect(unavailable).toEqual([{ serverType: 'pool', provider: 'local', offering: 'a', until: expect.any(Date), reason: refusal.message, serverId: one!.id, movedTo: 'b' }]);
    const ttl = unavailable[0]!.until.getTime() - Date.now();
    expect(ttl).toBeGreaterThan(170_000);
    expect(ttl).toBeLessThanOrEqual(180_000);
    expect(await servers.unavailableOfferings('local')).toEqual(['a']);
    // Another process hears it as it was sent.
    for (let waited = 0; heard.length === 0 && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard).toEqual(unavailable);

    // New servers skip `a`; the budget (3 at 0.01) is full.
    const third = await servers.increase('pool', 1);
    expect((await servers.server(third.createdServerIds[0]!)).offering).toBe('b');
    // A server still waiting on `a` moves on without a refusal of its own.
    expect(await servers.moveToNextOffering(two!.id, ['a', 'b', 'c'], { status: 'new', since: two!.statusUpdatedAt })).toMatchObject({ movedTo: 'b' });
    // Left alone when seen in another status, or when its offering is not marked unavailable.
    expect(await servers.moveToNextOffering(two!.id, ['a', 'b', 'c'], { status: 'starting', since: two!.statusUpdatedAt })).toEqual({ server: null, movedTo: null });
    expect(await servers.moveToNextOffering(two!.id, ['a', 'b', 'c'], { status: 'new', since: two!.statusUpdatedAt })).toEqual({ server: null, movedTo: null });

    // `b` refused too: only `c` is left, and at 0.05 it would exceed the budget of 0.03: errored, no replacement on `c`.
    const three = await servers.server(third.createdServerIds[0]!);
    const last = await servers.moveToNextOffering(three.id, ['a', 'b', 'c'], { status: 'new', since: three.statusUpdatedAt }, { ...refusal, message: 'b is full' });
    expect(last).toMatchObject({ movedTo: null, server: { status: 'errored', offering: 'b', lastError: { class: 'InsufficientCapacityError' } } });
    expect(last.server!.lastError!.message).toMatch(/would exceed a budget/);
    expect(await servers.desiredState('pool')).toMatchObject({ desiredCount: 3, createFailures: 1 });
    expect(await servers.provisionedCount('pool')).toBe(2);
    expect(await servers.unavailableOfferings('local')).toEqual(['a', 'b']);
  });
});

describe('costs', () => {
  test('per hour: the servers the cloud has now; this month: each one\'s time in the cloud since the first of the month at its price', async () => {
    const { servers } = await open({
      worker: { provider: 'local', offerings: ['small'], prices: { small: 0.01 } },
      kept: { provider: 'local', offerings: ['large'], prices: { large: 0.04 }, erroredServers: 'keep' },
    });
    const [running, gone, refused] = (await servers.ensure('worker', 3)).createdServerIds as [number, number, number];
    const [lingering] = (await servers.ensure('kept', 1)).createdServerIds as [number];
    await servers.recordTransition(running, 'starting', { reason: 'test: created', providerId: '1' });
    await walk(servers, running, 'running');
    await servers.recordTransition(gone, 'starting', { reason: 'test: created', providerId: '2' });
    await walk(servers, gone, 'running', 'stopping', 'deleting', 'deleted');
    await servers.recordFailure(refused, 'errored', { reason: 'test: create refused' });
    await servers.recordTransition(lingering, 'starting', { reason: 'test: created', providerId: '3' });
    await servers.recordFailure(lingering, 'errored', { reason: 'test: broke while starting' });

    // Put the history at known moments: `running` in the cloud since last month, `gone` for part of this month.
    const start = monthStart(new Date()).getTime();
    const setAt = (server: number, to: string, at: number) => database().rows('update server_status_change set changed_at = $3 where server_id = $1 and to_status = $2', [server, to, new Date(at)]);
    await setAt(running, 'new', start - 3 * 3_600_000);
    await setAt(running, 'starting', start - 2 * 3_600_000);
    await setAt(running, 'running', start - 3_600_000);
    const elapsed = Date.now() - start;
    const at = (fraction: number) => start + Math.round(elapsed * fraction); // whole milliseconds, as the rows store them
    const goneFrom = at(1 / 4);
    const goneUntil = at(7 / 10);
    for (const [to, moment] of [['new', start], ['starting', goneFrom], ['running', at(1 / 3)], ['stopping', at(1 / 2)], ['deleting', at(0.6)], ['deleted', goneUntil]] as const) {
      await setAt(gone, to, moment);
    }
    const lingeringFrom = at(1 / 2);
    await setAt(lingering, 'new', start);
    await setAt(lingering, 'starting', lingeringFrom);
    await setAt(lingering, 'errored', at(0.6));

    const before = Date.now();
    const costs = await servers.costs();
    const after = Date.now();
    const hours = (from: number, until: number) => (until - from) / 3_600_000;
    expect(costs.map(({ serverType, perHour, billedServers, unpricedServers, budgetPerHour }) => ({ serverType, perHour, billedServers, unpricedServers, budgetPerHour }))).toEqual([
      { serverType: 'kept', perHour: 0.04, billedServers: 1, unpricedServers: 0, budgetPerHour: null },
      { serverType: 'worker', perHour: 0.01, billedServers: 1, unpricedServers: 0, budgetPerHour: null },
    ]);
    const worker = costs.find((cost) => cost.serverType === 'worker')!;
    expect(worker.monthToDate).toBeGreaterThanOrEqual(0.01 * (hours(start, before) + hours(goneFrom, goneUntil)) - 1e-9);
    expect(worker.monthToDate).toBeLessThanOrEqual(0.01 * (hours(start, after) + hours(goneFrom, goneUntil)) + 1e-9);
    const kept = costs.find((cost) => cost.serverType === 'kept')!;
    expect(kept.monthToDate).toBeGreaterThanOrEqual(0.04 * hours(lingeringFrom, before) - 1e-9);
    expect(kept.monthToDate).toBeLessThanOrEqual(0.04 * hours(lingeringFrom, after) + 1e-9);
  });
});
