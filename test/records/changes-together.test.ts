// Count changes of one server type made at once in one process run together in one transaction (see
// src/records/change-queue.ts): on a real PostgreSQL, they end exactly as if they had run one after the other, and
// one that fails leaves the others' outcomes as they would have been alone.
import { expect, jest, test } from '@jest/globals';
import { DynamicServers, ServerLimitError, type CountChange } from '../../src/api.ts';
import { recordsCoreOf } from '../../src/records/dynamic-servers.ts';
import type { ChangeOutcome } from '../../src/records/change-queue.ts';
import { pollFor } from '../support/poll.ts';
import { byPlace, placesOf } from './support/compare-changes.ts';
import { publishTypes } from '../support/published-types.ts';
import { useRecordsDatabase } from './support/records-database.ts';

const { database, opened } = useRecordsDatabase('records_changes_together');

const CALLS = 20;

/** Opens DynamicServers on the test database and watches how its count changes are committed. */
async function open(options: { onLimitHit?: 'emit' | 'throw'; poolSize?: number } = {}) {
  const servers = await DynamicServers.open({ databaseUrl: database().url, ...options });
  opened.push(servers);
  const together = jest.spyOn(recordsCoreOf(servers), 'commitTogether');
  const alone = jest.spyOn(recordsCoreOf(servers), 'commit');
  const created: number[] = [];
  servers.on('creating', ({ server }) => created.push(server.id));
  return { servers, together, alone, created };
}

test('increases of one type made at once run together and end as if made one after the other', async () => {
  await publishTypes(database().url, { worker: { provider: 'local' } });
  const { servers, together, created } = await open();
  // Another instance hears the changes through the database's notifications (one statement per transaction).
  const { servers: neighbour } = await open();
  const heardByNeighbour: number[] = [];
  neighbour.on('creating', ({ server }) => heardByNeighbour.push(server.id));
  await recordsCoreOf(neighbour).eventsListening();

  const changes = await Promise.all(Array.from({ length: CALLS }, () => servers.increase('worker', 1)));

  // Some ran together: at least one transaction held more than one of them.
  expect(together.mock.calls.some(([runs]) => runs.length > 1)).toBe(true);
  // Each saw the one before it: in version order, each started where the previous one ended.
  const inOrder = changes.toSorted((a, b) => a.version - b.version);
  expect(inOrder.map((change) => change.version)).toEqual(Array.from({ length: CALLS }, (_, index) => index + 1));
  expect(inOrder.map((change) => [change.before, change.after, change.desiredCount])).toEqual(Array.from({ length: CALLS }, (_, index) => [index, index + 1, index + 1]));
  const createdIds = inOrder.flatMap((change: CountChange) => change.createdServerIds);
  expect(new Set(createdIds).size).toBe(CALLS);
  expect(created.toSorted((a, b) => a - b)).toEqual(createdIds.toSorted((a, b) => a - b));
  // Once each, in the order the changes were made.
  await pollFor('the neighbour to hear every change', 10_000, () => (heardByNeighbour.length >= CALLS ? true : undefined), 20);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(heardByNeighbour).toEqual(createdIds);

  expect(await servers.provisionedCount('worker')).toBe(CALLS);
  expect(await servers.desiredState('worker')).toMatchObject({ desiredCount: CALLS, version: CALLS });
  const history = await database().rows<{ to_status: string; count: number }>('select to_status, count(*)::int as count from server_status_change group by to_status');
  expect(history).toEqual([{ to_status: 'new', count: CALLS }]);
});

test('a change that fails among others made at once fails alone; the others keep their outcomes', async () => {
  const maximum = 5;
  await publishTypes(database().url, { worker: { provider: 'local', maximum } });
  const { servers, together } = await open({ onLimitHit: 'throw' });

  const outcomes = await Promise.allSettled(Array.from({ length: CALLS }, () => servers.increase('worker', 1)));

  expect(together.mock.calls.some(([runs]) => runs.length > 1)).toBe(true);
  const made = outcomes.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.value);
  const refused = outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => outcome.reason);
  expect(made).toHaveLength(maximum);
  expect(made.map((change) => change.before).toSorted((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
  expect(refused).toHaveLength(CALLS - maximum);
  for (const error of refused) expect(error).toBeInstanceOf(ServerLimitError);
  expect(await servers.provisionedCount('worker')).toBe(maximum);
  expect(await servers.desiredState('worker')).toMatchObject({ desiredCount: maximum, version: maximum });
  expect(await database().rows('select count(*)::int as count from server')).toEqual([{ count: maximum }]);
});

test('mixed ensures, increases and decreases made at once end as the same calls made one after the other', async () => {
  const maximum = 12;
  await publishTypes(database().url, { together: { provider: 'local', maximum }, alone: { provider: 'local', maximum } });
  const { servers, together, alone } = await open();
  // A fixed, varied sequence: absolute targets up and down (some over the limit), relative steps both ways.
  let seed = 7;
  const random = (below: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 16) % below;
  };
  const calls = Array.from({ length: 60 }, () => {
    const kind = random(3);
    const amount = kind === 0 ? random(maximum + 4) : 1 + random(3);
    return (type: string) => (kind === 0 ? servers.ensure(type, amount) : kind === 1 ? servers.increase(type, amount) : servers.decrease(type, amount));
  });

  // Once the types' names are known to the instance, calls reach their type's queue in the order they are made.
  await Promise.all([servers.ensure('together', 0), servers.ensure('alone', 0)]);
  const atOnce = await Promise.all(calls.map((call) => call('together')));
  const oneByOne: CountChange[] = [];
  for (const call of calls) oneByOne.push(await call('alone'));

  expect(together.mock.calls.some(([runs]) => runs.length > 1)).toBe(true);
  // Every change committed once: no turn failed and ran its changes again one by one (which would hide a turn that
  // went wrong behind the outcomes of changes run alone).
  const madeTogether = together.mock.calls.reduce((sum, [runs]) => sum + runs.length, 0);
  expect(alone.mock.calls.length + madeTogether).toBe(2 + 2 * calls.length);
  const places = async (type: string) => {
    const rows = await database().rows<{ id: string; status: string }>('select id, status from server where type = $1 order by id', [type]);
    return { place: placesOf(rows.map((row) => Number(row.id))), statuses: rows.map((row) => row.status) };
  };
  const [ofTogether, ofAlone] = [await places('together'), await places('alone')];
  expect(atOnce.map((change) => byPlace(change, ofTogether.place))).toEqual(oneByOne.map((change) => byPlace(change, ofAlone.place)));
  expect(oneByOne.some((change) => change.stoppingServerIds.length > 0) && oneByOne.some((change) => change.limitHit !== null)).toBe(true);
  expect(ofTogether.statuses).toEqual(ofAlone.statuses);
  const { version, desiredCount } = await servers.desiredState('alone');
  expect(await servers.desiredState('together')).toMatchObject({ version, desiredCount });
});

/** How many server types each turn that ran together (a call of the `commitTogether` spy `together`) changed. */
async function typesPerTurn(together: { mock: { results: { value: unknown }[] } }): Promise<number[]> {
  const turns = await Promise.all(together.mock.results.map((result) => result.value as Promise<ChangeOutcome<{ change: CountChange }>[]>));
  return turns.map((outcomes) => new Set(outcomes.map((outcome) => (outcome.ok ? outcome.value.change.serverType : 'failed'))).size);
}

/** A fixed, varied sequence of `length` calls on `types`: absolute targets up and down (some over `maximum`), relative steps both ways. */
function mixedCalls(servers: DynamicServers, types: readonly string[], length: number, maximum: number) {
  let seed = 11;
  const random = (below: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 16) % below;
  };
  return Array.from({ length }, () => {
    const type = types[random(types.length)] as string;
    const kind = random(3);
    const amount = kind === 0 ? random(maximum + 4) : 1 + random(3);
    const call = (prefix: string) =>
      kind === 0 ? servers.ensure(`${prefix}${type}`, amount) : kind === 1 ? servers.increase(`${prefix}${type}`, amount) : servers.decrease(`${prefix}${type}`, amount);
    return { type, call };
  });
}

test('mixed calls on several types made at once, more than the connections, run together across types and end as the same calls made one by one', async () => {
  const maximum = 8;
  const types = ['d', 'b', 'c', 'a'];
  await publishTypes(database().url, Object.fromEntries(types.flatMap((type) => [`x-${type}`, `y-${type}`]).map((name) => [name, { provider: 'local', maximum }])));
  const { servers, together, alone } = await open({ poolSize: 2 });
  for (const type of types) await Promise.all([servers.ensure(`x-${type}`, 0), servers.ensure(`y-${type}`, 0)]);
  together.mockClear();
  alone.mockClear();
  const calls = mixedCalls(servers, types, 80, maximum);

  const atOnce = await Promise.all(calls.map(({ call }) => call('x-')));
  // Some transaction held changes of more than one type, and every change committed once (no turn failed and ran
  // its changes again alone).
  const turns = together.mock.calls.map(([runs]) => runs.length);
  expect(Math.max(...(await typesPerTurn(together)))).toBeGreaterThan(1);
  expect(alone.mock.calls.length + turns.reduce((sum, size) => sum + size, 0)).toBe(calls.length);
  expect(together.mock.calls.length + alone.mock.calls.length).toBeLessThan(calls.length / 2);
  const oneByOne: CountChange[] = [];
  for (const { call } of calls) oneByOne.push(await call('y-'));

  for (const type of types) {
    const places = async (name: string) => {
      const rows = await database().rows<{ id: string; status: string }>('select id, status from server where type = $1 order by id', [name]);
      return { place: placesOf(rows.map((row) => Number(row.id))), statuses: rows.map((row) => row.status) };
    };
    const [ofAtOnce, ofOneByOne] = [await places(`x-${type}`), await places(`y-${type}`)];
    const mine = calls.flatMap((call, index) => (call.type === type ? [index] : []));
    expect(mine.map((index) => byPlace(atOnce[index]!, ofAtOnce.place))).toEqual(mine.map((index) => byPlace(oneByOne[index]!, ofOneByOne.place)));
    expect(ofAtOnce.statuses).toEqual(ofOneByOne.statuses);
    const { version, desiredCount } = await servers.desiredState(`y-${type}`);
    expect(await servers.desiredState(`x-${type}`)).toMatchObject({ version, desiredCount });
  }
  expect(oneByOne.some((change) => change.stoppingServerIds.length > 0) && oneByOne.some((change) => change.limitHit !== null)).toBe(true);
});

test('increases of several types on one limited provider made at once never pass its limit together', async () => {
  const maximum = 10;
  const types = ['p-d', 'p-b', 'p-c', 'p-a'];
  await publishTypes(database().url, Object.fromEntries(types.map((name) => [name, { provider: 'capped' }])), { capped: { maximum } });
  const { servers, together } = await open({ poolSize: 2 });
  for (const type of types) await servers.ensure(type, 0);
  together.mockClear();

  const changes = await Promise.all(Array.from({ length: 40 }, (_, index) => servers.increase(types[index % types.length], 1)));

  expect(Math.max(...(await typesPerTurn(together)))).toBeGreaterThan(1);
  expect(changes.reduce((sum, change) => sum + change.createdServerIds.length, 0)).toBe(maximum);
  expect(changes.filter((change) => change.limitHit?.scope === 'provider')).toHaveLength(40 - maximum);
  expect(await servers.provisionedCount()).toBe(maximum);
  // Each type's changes saw the one before them.
  for (const type of types) {
    const ofType = changes.filter((change) => change.serverType === type);
    expect(ofType.slice(1).map((change) => change.before)).toEqual(ofType.slice(0, -1).map((change) => change.after));
  }
});
