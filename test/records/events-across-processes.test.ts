// Events reach the listeners of every open DynamicServers, not only those of the instance that made the change:
// another OS process's changes arrive through the database's notification channel, each exactly once.
import { afterAll, beforeAll, expect, jest, test } from '@jest/globals';
import pg from 'pg';
import { DynamicServers, type DynamicServersEventName } from '../../src/api.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { recordsCoreOf } from '../../src/records/dynamic-servers.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { EVENT_CHANNEL } from '../../src/records/event-feed.ts';
import { pollFor } from '../support/poll.ts';
import { publishTypes } from '../support/published-types.ts';
import { EVENTS_TYPES } from './support/events-setup.ts';
import { startRecordsDatabase, type RecordsDatabase } from './support/records-database.ts';

const EVENT_NAMES: DynamicServersEventName[] = ['creating', 'starting', 'running', 'rebooting', 'stopping', 'stopped', 'deleting', 'deleted', 'errored', 'hanging', 'limitHit'];

let database: RecordsDatabase;
let listening: EngineRecords;
let neighbour: DynamicServers;
const heard: { name: DynamicServersEventName; payload: unknown; remote: boolean }[] = [];
const heardByNeighbour: DynamicServersEventName[] = [];

beforeAll(async () => {
  database = await startRecordsDatabase('records_events');
  await publishTypes(database.url, EVENTS_TYPES);
  listening = await EngineRecords.openForEngine({ databaseUrl: database.url });
  neighbour = await DynamicServers.open({ databaseUrl: database.url });
  for (const name of EVENT_NAMES) {
    listening.on(name, (payload, { remote }) => heard.push({ name, payload, remote }));
    neighbour.on(name, () => heardByNeighbour.push(name));
  }
  await Promise.all([recordsCoreOf(listening).eventsListening(), recordsCoreOf(neighbour).eventsListening()]);
});

afterAll(async () => {
  await listening?.close();
  await neighbour?.close();
  await database?.stop();
});

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; heard ${JSON.stringify(heard.map((event) => event.name))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("another process's changes reach this process's listeners once each, with their payloads", async () => {
  const maker = await runCommand(process.execPath, ['test/records/support/event-maker.ts'], { env: { ...process.env, DATABASE_URL: database.url } });
  expect(maker.stderr).toBe('');
  expect(maker.code).toBe(0);
  const { first, second } = JSON.parse(maker.stdout) as { first: number; second: number };

  await until(() => heard.length >= 8, 'eight events');
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(heard.every((event) => event.remote)).toBe(true);
  expect(heard.map((event) => event.name)).toEqual(['creating', 'creating', 'starting', 'running', 'errored', 'creating', 'creating', 'limitHit']);

  const [created, , starting, running, errored, , , limitHit] = heard.map((event) => event.payload) as [
    { server: { id: number; status: string; createdAt: Date }; from: null },
    unknown,
    { server: { id: number; status: string; providerId: string; statusUpdatedAt: Date }; from: string; reason: string },
    { server: { id: number; status: string; meta: { note: string } }; from: string; reason: string },
    { server: { id: number; status: string; lastError: { class: string; message: string; stack: string | null } }; from: string; reason: string },
    unknown,
    unknown,
    { serverType: string; maximum: number; requested: number; allowed: number },
  ];
  expect(created).toMatchObject({ server: { id: first, status: 'new' }, from: null });
  expect(created.server.createdAt).toBeInstanceOf(Date);
  expect(starting).toMatchObject({ server: { id: first, status: 'starting', providerId: 'cloud-1' }, from: 'new', reason: 'created by the cloud' });
  expect(starting.server.statusUpdatedAt).toBeInstanceOf(Date);
  expect(starting.server.statusUpdatedAt.getTime()).toBeLessThan((await listening.server(first)).statusUpdatedAt.getTime());
  // Its 10 kB meta does not fit a notification even without a stack: the event names the server, read on arrival.
  expect(running).toMatchObject({ server: { id: first, status: 'running' }, from: 'starting', reason: 'booted' });
  expect(running.server.meta.note).toHaveLength(10_000);
  // Its 16 kB stack does not fit a notification: the event arrives without it, everything else intact.
  expect(errored).toMatchObject({ server: { id: second, status: 'errored', lastError: { class: 'Error', message: 'the cloud refused it', stack: null } }, from: 'new', reason: 'create failed' });
  expect((await listening.server(second)).lastError?.stack?.length).toBeGreaterThan(8000);
  // increase(alpha, 5) adds to the desired count (2), of which one server counts: 6 new ones asked for.
  expect(limitHit).toMatchObject({ serverType: 'alpha', maximum: 3, requested: 6, allowed: 2 });

  await until(() => heardByNeighbour.length >= 8, 'the neighbour instance to hear eight events');
  expect(heardByNeighbour).toEqual(heard.map((event) => event.name));
});

test("an instance's own changes reach its listeners once, and other instances' listeners once", async () => {
  heard.length = 0;
  heardByNeighbour.length = 0;
  await listening.decrease('alpha', 1);
  expect(heard.map(({ name, remote }) => ({ name, remote }))).toEqual([{ name: 'stopping', remote: false }]);
  await until(() => heardByNeighbour.length >= 1, 'the neighbour to hear the stop');
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(heard.map((event) => event.name)).toEqual(['stopping']);
  expect(heardByNeighbour).toEqual(['stopping']);
});

test('a rolled-back change notifies nobody', async () => {
  heardByNeighbour.length = 0;
  await expect(listening.ensure('alpha', -1)).rejects.toThrow();
  const [server] = await listening.servers({ serverType: 'alpha', status: ['stopping'] });
  await expect(listening.recordTransition(server!.id, 'running', { reason: 'not allowed from stopping' })).rejects.toThrow();
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(heardByNeighbour).toEqual([]);
});

test('an instance listens to other processes\' events only while it has listeners', async () => {
  const sent = jest.spyOn(pg.Client.prototype, 'query');
  const channelCommands = () => sent.mock.calls.map(([text]) => text).filter((text) => typeof text === 'string' && text.endsWith(` ${EVENT_CHANNEL}`));
  const quiet = await DynamicServers.open({ databaseUrl: database.url });
  try {
    const heardByQuiet: string[] = [];
    const hear = () => heardByQuiet.push('event');
    // No listener: nothing to deliver, so no LISTEN on the events' channel.
    expect(channelCommands()).toEqual([]);

    const stopFirst = quiet.on('creating', hear);
    const stopSecond = quiet.on('limitHit', hear);
    expect(channelCommands()).toEqual([`listen ${EVENT_CHANNEL}`]);
    await recordsCoreOf(quiet).eventsListening();
    await listening.increase('alpha', 1);
    await pollFor('the quiet instance to hear a change of another instance', 10_000, () => (heardByQuiet.length > 0 ? true : undefined), 20);

    // The last listener stopped ends the listening; the first one added again starts it again, and it hears.
    stopFirst();
    expect(channelCommands()).toEqual([`listen ${EVENT_CHANNEL}`]);
    stopSecond();
    expect(channelCommands()).toEqual([`listen ${EVENT_CHANNEL}`, `unlisten ${EVENT_CHANNEL}`]);
    await recordsCoreOf(quiet).eventsListening();
    heardByQuiet.length = 0;
    quiet.on('creating', hear);
    quiet.on('limitHit', hear);
    expect(channelCommands()).toEqual([`listen ${EVENT_CHANNEL}`, `unlisten ${EVENT_CHANNEL}`, `listen ${EVENT_CHANNEL}`]);
    await recordsCoreOf(quiet).eventsListening();
    await listening.increase('alpha', 1);
    await pollFor('the quiet instance to hear again', 10_000, () => (heardByQuiet.length > 0 ? true : undefined), 20);
  } finally {
    sent.mockRestore();
    await quiet.close();
  }
});
