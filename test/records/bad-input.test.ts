// Bad input of every kind gets its own typed error, and the database is unchanged afterwards: the md5 of every
// row of every table is compared before and after each call, and no wake-up or event leaves the instance.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import {
  DynamicServers,
  DynamicServersError,
  InvalidCountError,
  InvalidInputError,
  InvalidNameError,
  InvalidServerNameError,
  InvalidTransitionError,
  NothingPublishedError,
  ServerLimitError,
  ServerRecordNotFoundError,
  UnknownServerTypeError,
  type DynamicServersEventName,
  type JsonObject,
  type ServerNameAction,
  type ServerStatus,
} from '../../src/api.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { ServerTypeInUseError } from '../../src/records/registry.ts';
import { publishTypes, WakeRecorder, type TestServerType } from '../support/published-types.ts';
import { startRecordsDatabase, type RecordsDatabase } from './support/records-database.ts';

const SERVER_TYPES: Record<string, TestServerType> = {
  default: { provider: 'local', maximum: 4 },
  worker: { provider: 'local' },
};

let database: RecordsDatabase;
let wake: WakeRecorder;
const emitted: DynamicServersEventName[] = [];
/** Opened in beforeAll: `strict` refuses over-limit requests; `named[...]` use a server name action returning that name. */
let strict: EngineRecords;
const named = new Map<string, DynamicServers>();

/** Stands for the name server 1 got from the default action (`default-1-<installation>`): a name already taken. */
const TAKEN = 'default-1-<installation>';
const BAD_SERVER_NAMES: unknown[] = ['../../etc/passwd', 'srv; rm -rf ~', 'srv$(id)', 'srv`id`', 'srv name', 'srv/1', '', 'UPPER', '-leading', 'x'.repeat(64), 42, TAKEN];

async function open(serverName?: ServerNameAction): Promise<EngineRecords> {
  const servers = await EngineRecords.openForEngine({ databaseUrl: database.url, onLimitHit: 'throw', ...(serverName ? { serverName } : {}) });
  for (const name of ['creating', 'starting', 'running', 'rebooting', 'stopping', 'stopped', 'deleting', 'deleted', 'errored', 'hanging', 'limitHit', 'backingOff'] as const) {
    servers.on(name, () => emitted.push(name));
  }
  return servers;
}

beforeAll(async () => {
  database = await startRecordsDatabase('records_bad_input');
  await publishTypes(database.url, SERVER_TYPES, { local: { maximum: 7 } });
  wake = await WakeRecorder.start(database.url);
  strict = await open();
  for (const name of BAD_SERVER_NAMES) named.set(String(name), await open(name === TAKEN ? ({ installation }) => `default-1-${installation}` : () => name as string));
  // Some state to protect: default has 3 of its 4, worker 3, so the provider (maximum 7) has room for 1.
  await strict.ensure('default', 3);
  await strict.ensure('worker', 3);
  await strict.recordTransition(1, 'starting', { reason: 'seed' });
  await strict.recordTransition(1, 'running', { reason: 'seed' });
  await strict.recordTransition(4, 'starting', { reason: 'seed' });
  await strict.mergeMeta(2, { notes: 'n'.repeat(40_000) });
});

afterAll(async () => {
  await Promise.all([strict, ...named.values()].map((servers) => servers?.close()));
  await wake?.stop();
  await database?.stop();
});

type Row = [label: string, call: () => Promise<unknown>, expected: new (...args: never[]) => DynamicServersError];
const as = <T>(value: unknown) => value as T;

const rows: Row[] = [
  // counts
  ['ensure a negative count', () => strict.ensure('default', -1), InvalidCountError],
  ['ensure a fractional count', () => strict.ensure('default', 1.5), InvalidCountError],
  ['ensure NaN', () => strict.ensure('default', NaN), InvalidCountError],
  ['ensure Infinity', () => strict.ensure('default', Infinity), InvalidCountError],
  ['ensure -Infinity', () => strict.ensure('default', -Infinity), InvalidCountError],
  ['ensure a huge count', () => strict.ensure('default', 1e12), InvalidCountError],
  ['ensure past the safe integers', () => strict.ensure('default', Number.MAX_SAFE_INTEGER + 2), InvalidCountError],
  ['ensure one more than a call may ask', () => strict.ensure('default', 10_001), InvalidCountError],
  ['ensure a count given as a string', () => strict.ensure('default', as<number>('3')), InvalidCountError],
  ['ensure a count given as null', () => strict.ensure('default', as<number>(null)), InvalidCountError],
  ['ensure a bigint count', () => strict.ensure('default', as<number>(3n)), InvalidCountError],
  ['increase by 0', () => strict.increase('default', 0), InvalidCountError],
  ['increase by a negative step', () => strict.increase('default', -2), InvalidCountError],
  ['increase by a fraction', () => strict.increase('default', 0.5), InvalidCountError],
  ['increase by NaN', () => strict.increase('default', NaN), InvalidCountError],
  ['increase by Infinity', () => strict.increase('default', Infinity), InvalidCountError],
  ['increase by a huge step', () => strict.increase('worker', 1e15), InvalidCountError],
  ['decrease by 0', () => strict.decrease('default', 0), InvalidCountError],
  ['decrease by a negative step', () => strict.decrease('default', -1), InvalidCountError],
  ['decrease by a fraction', () => strict.decrease('default', 2.5), InvalidCountError],
  ['decrease by NaN', () => strict.decrease('default', NaN), InvalidCountError],
  ['decrease by -Infinity', () => strict.decrease('default', -Infinity), InvalidCountError],
  ['decrease by a huge step', () => strict.decrease('default', 2 ** 53), InvalidCountError],
  // server types
  ['ensure an empty type', () => strict.ensure('', 1), InvalidNameError],
  ['ensure a type that is not published', () => strict.ensure('nope', 1), UnknownServerTypeError],
  ['increase an unknown type', () => strict.increase('web'), UnknownServerTypeError],
  ['reboot an unknown type', () => strict.reboot('web'), UnknownServerTypeError],
  ['increase a type with a path', () => strict.increase('../../etc/passwd'), InvalidNameError],
  ['increase a type with a slash', () => strict.increase('worker/1'), InvalidNameError],
  ['increase a type with a shell command', () => strict.increase('worker; rm -rf /'), InvalidNameError],
  ['decrease a type with command substitution', () => strict.decrease('$(reboot)'), InvalidNameError],
  ['reboot a type with backticks', () => strict.reboot('`id`'), InvalidNameError],
  ['ensure a type with a newline', () => strict.ensure('worker\n', 1), InvalidNameError],
  ['ensure a type with a leading space', () => strict.ensure(' worker', 1), InvalidNameError],
  ['ensure a type with capitals', () => strict.ensure('Worker', 1), InvalidNameError],
  ['ensure a type with a NUL byte', () => strict.ensure('worker\u0000', 1), InvalidNameError],
  ['ensure a type that is too long', () => strict.ensure(`w${'x'.repeat(40)}`, 1), InvalidNameError],
  ['ensure a type that is not a string', () => strict.ensure(as<string>(42), 1), InvalidNameError],
  ['count a type with a path', () => strict.provisionedCount('../default'), InvalidNameError],
  ['count per status of an unknown type', () => strict.countPerStatus('web'), UnknownServerTypeError],
  ['desired state of a type with a space', () => strict.desiredState('a b'), InvalidNameError],
  ['query servers of a type with a path', () => strict.servers({ serverType: '../default' }), InvalidInputError],
  ['query servers of an unknown status', () => strict.servers({ status: as<ServerStatus>('exploded') }), InvalidInputError],
  ['query servers with a negative limit', () => strict.servers({ limit: -1 }), InvalidInputError],
  ['query servers with an unknown field', () => strict.servers(as<object>({ where: '1=1' })), InvalidInputError],
  // names from the server name action
  ...BAD_SERVER_NAMES.map((name): Row => [`a server name action returning ${JSON.stringify(name)}`, () => named.get(String(name))!.increase('worker'), InvalidServerNameError]),
  // over the limits (policy 'throw')
  ['ensure over the type maximum', () => strict.ensure('default', 5), ServerLimitError],
  ['increase over the type maximum', () => strict.increase('default', 2), ServerLimitError],
  ['increase over the provider maximum', () => strict.increase('worker', 2), ServerLimitError],
  ['ensure far over the provider maximum', () => strict.ensure('worker', 100), ServerLimitError],
  // transitions and the desired state
  ['a transition of a server that does not exist', () => strict.recordTransition(999_999, 'starting', { reason: 'x' }), ServerRecordNotFoundError],
  ['a transition the lifecycle forbids', () => strict.recordTransition(2, 'running', { reason: 'skipping starting' }), InvalidTransitionError],
  ['a transition out of running to new', () => strict.recordTransition(1, 'new', { reason: 'x' }), InvalidTransitionError],
  ['a transition to an unknown status', () => strict.recordTransition(2, as<ServerStatus>('exploded'), { reason: 'x' }), InvalidInputError],
  ['a transition without a reason', () => strict.recordTransition(2, 'starting', { reason: '  ' }), InvalidInputError],
  ['a transition with a negative server id', () => strict.recordTransition(-1, 'starting', { reason: 'x' }), InvalidInputError],
  ['a transition with a fractional server id', () => strict.recordTransition(1.5, 'starting', { reason: 'x' }), InvalidInputError],
  ['a transition with an unknown detail', () => strict.recordTransition(2, 'starting', as<{ reason: string }>({ reason: 'x', password: 'hunter2' })), InvalidInputError],
  ['a transition whose reason has a NUL character', () => strict.recordTransition(2, 'starting', { reason: 'boot\u0000ed' }), InvalidInputError],
  ['a transition whose meta has a NUL character', () => strict.recordTransition(2, 'starting', { reason: 'x', meta: { note: 'a\u0000b' } }), InvalidInputError],
  ['a transition with addresses that are not text', () => strict.recordTransition(2, 'starting', { reason: 'x', addresses: as<Record<string, string>>({ ipv4: 7 }) }), InvalidInputError],
  ['a transition with an error that is not an error', () => strict.recordTransition(2, 'errored', { reason: 'x', error: as<Error>('boom') }), InvalidInputError],
  ['a failure recorded as a status that is no failure', () => strict.recordFailure(2, as<'hanging'>('running'), { reason: 'x' }), InvalidInputError],
  ['a failure of a server that does not exist', () => strict.recordFailure(999_999, 'hanging', { reason: 'x' }), ServerRecordNotFoundError],
  ['a failure judged on a status that does not exist', () => strict.recordFailure(2, 'hanging', { reason: 'x' }, { status: as<ServerStatus>('booting'), since: new Date() }), InvalidInputError],
  ['a failure judged at a time that is no date', () => strict.recordFailure(2, 'hanging', { reason: 'x' }, { status: 'new', since: as<Date>('yesterday') }), InvalidInputError],
  ['a failure without a reason', () => strict.recordFailure(2, 'hanging', { reason: '' }), InvalidInputError],
  ['a drift deletion without a reason', () => strict.recordGone(1, ' '), InvalidInputError],
  // deleting one server
  ['a delete of a server that does not exist', () => strict.delete(999_999), ServerRecordNotFoundError],
  ['a delete of a name no server has', () => strict.delete('worker-999'), ServerRecordNotFoundError],
  ['a delete of a name with a path', () => strict.delete('../worker-4'), InvalidInputError],
  ['a delete of a name with a shell command', () => strict.delete('worker-4; rm -rf /'), InvalidInputError],
  ['a delete of a name with capitals', () => strict.delete('Worker-4'), InvalidInputError],
  ['a delete of a negative id', () => strict.delete(-4), InvalidInputError],
  ['a delete of a fractional id', () => strict.delete(4.5), InvalidInputError],
  ['a delete of nothing', () => strict.delete(as<number>(undefined)), InvalidInputError],
  ['a delete of an object', () => strict.delete(as<number>({ id: 4 })), InvalidInputError],
  ['marking a version not reached yet as applied', () => strict.markApplied('default', 99), InvalidInputError],
  ['marking a negative version as applied', () => strict.markApplied('default', -1), InvalidInputError],
  ['marking NaN as applied', () => strict.markApplied('default', NaN), InvalidInputError],
  // publishing
  ['publishing without a type whose servers still run', () => publishTypes(database.url, { default: SERVER_TYPES.default! }, { local: { maximum: 7 } }), ServerTypeInUseError],
  // meta merged into a server's
  ['meta for a server that does not exist', () => strict.mergeMeta(999_999, { a: 1 }), ServerRecordNotFoundError],
  ['meta for a negative server id', () => strict.mergeMeta(-1, { a: 1 }), InvalidInputError],
  ['meta for a server id given as a string', () => strict.mergeMeta(as<number>('1'), { a: 1 }), InvalidInputError],
  ['meta that is an array', () => strict.mergeMeta(1, as<JsonObject>(['a', 'b'])), InvalidInputError],
  ['meta that is a string', () => strict.mergeMeta(1, as<JsonObject>('{"a":1}')), InvalidInputError],
  ['meta that is null', () => strict.mergeMeta(1, as<JsonObject>(null)), InvalidInputError],
  ['meta with NaN', () => strict.mergeMeta(1, { load: NaN }), InvalidInputError],
  ['meta with Infinity deep inside', () => strict.mergeMeta(1, { load: { peak: [1, Infinity] } }), InvalidInputError],
  ['meta with a function', () => strict.mergeMeta(1, as<JsonObject>({ callback: () => 1 })), InvalidInputError],
  ['meta with an undefined value', () => strict.mergeMeta(1, as<JsonObject>({ gone: undefined })), InvalidInputError],
  ['meta with a NUL character', () => strict.mergeMeta(1, { note: 'a\u0000b' }), InvalidInputError],
  ['meta with a NUL character in a key', () => strict.mergeMeta(1, { 'no\u0000te': 'x' }), InvalidInputError],
  ['meta with an empty key', () => strict.mergeMeta(1, { '': 'x' }), InvalidInputError],
  ['meta with a key of 256 characters', () => strict.mergeMeta(1, { ['k'.repeat(256)]: 'x' }), InvalidInputError],
  ['meta larger than 64 KiB', () => strict.mergeMeta(1, { blob: 'x'.repeat(70_000) }), InvalidInputError],
  ['meta that would make the merged meta larger than 64 KiB', () => strict.mergeMeta(2, { more: 'm'.repeat(30_000) }), InvalidInputError],
];

test.each(rows)('%s: typed error, database unchanged', async (_label, call, expected) => {
  const before = await database.checksums();
  const wakes = (await wake.settle()).length;
  const events = emitted.length;

  const error = await call().then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(expected);
  expect(error).toBeInstanceOf(DynamicServersError);
  expect((error as Error).message).not.toBe('');

  expect(await database.checksums()).toEqual(before);
  expect(await wake.settle()).toHaveLength(wakes);
  expect(emitted).toHaveLength(events);
});

test('a database where nothing was ever published: NothingPublishedError, saying how to publish, and nothing written', async () => {
  await database.client.query('create database never_published');
  const url = new URL(database.url);
  url.pathname = '/never_published';
  const script = await DynamicServers.open({ databaseUrl: url.href });
  try {
    const before = await database.checksums();
    const error = await script.ensure('worker', 2).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NothingPublishedError);
    expect((error as Error).message).toContain('npx dynamic-servers publish');
    expect(await script.provisionedCount()).toBe(0);
    expect(await database.checksums()).toEqual(before);
  } finally {
    await script.close();
  }
});

test('the protected state is the seeded one, so the comparisons above compared something', async () => {
  const checksums = await database.checksums();
  expect(Object.keys(checksums).sort()).toEqual([
    'desired_state',
    'dynamic_servers_migrations',
    'installation',
    'offering_price',
    'provider_config',
    'server',
    'server_status_change',
    'server_type_config',
    'unavailable_offering',
  ]);
  expect((await database.rows<{ name: string }>('select name from server where id = 1'))[0]?.name).toBe(`default-1-${strict.installationId}`);
  expect(checksums.server_type_config).toMatch(/^2 rows/);
  expect(checksums.server).toMatch(/^6 rows/);
  expect(checksums.server_status_change).toMatch(/^9 rows/);
  expect(checksums.desired_state).toMatch(/^2 rows/);
  expect(await strict.provisionedCount()).toBe(6);
});
