// The records' transactions (src/records/sql.ts): deferred statements travel with the next statement, see and are
// seen by the rest of the transaction, and their errors roll everything back. And what relies on them: a count
// change reads its type's configuration under the type's lock (after a publication that retired it), and an
// update's results are recorded in one transaction.
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { DynamicServers, InvalidInputError, UnknownServerTypeError } from '../../src/api.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { openRecordsOrm } from '../../src/records/orm.ts';
import { inTransaction, prepared } from '../../src/records/sql.ts';
import { pollFor } from '../support/poll.ts';
import { publishTypes } from '../support/published-types.ts';
import { startRecordsDatabase, type RecordsDatabase } from './support/records-database.ts';

let database: RecordsDatabase;
let orm: MikroORM;

beforeAll(async () => {
  database = await startRecordsDatabase('records_transaction');
  orm = await openRecordsOrm(database.url, 2);
  await database.client.query('create table pipelined (id int primary key, note text not null)');
});

afterAll(async () => {
  await orm?.close();
  await database?.stop();
});

beforeEach(async () => {
  await database.client.query('truncate pipelined');
});

/** Counts the messages the pg clients send while `work` runs. */
async function countMessages<T>(work: () => Promise<T>): Promise<{ result: T; messages: string[] }> {
  const messages: string[] = [];
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    messages.push(String(typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text));
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  try {
    return { result: await work(), messages };
  } finally {
    pg.Client.prototype.query = query;
  }
}

test('deferred statements go with the next statement, which sees them; the commit takes the rest', async () => {
  const { result, messages } = await countMessages(() =>
    inTransaction(orm, async (tx) => {
      tx.defer('insert into pipelined (id, note) values (?, ?)', [1, "it's"]);
      tx.defer('insert into pipelined (id, note) values (?, ?)', [2, 'two']);
      const rows = await tx.execute<{ n: number }[]>('select count(*)::int as n from pipelined');
      tx.defer('update pipelined set note = ? where id in (?)', ['changed', [1, 2]]);
      return rows;
    }),
  );
  expect(result).toEqual([{ n: 2 }]);
  expect(messages).toHaveLength(2);
  expect(messages[0]).toMatch(/^begin;\ninsert .*;\ninsert .*;\nselect count/s);
  expect(messages[1]).toMatch(/^update pipelined .*;\ncommit$/s);
  expect(await database.rows('select id, note from pipelined order by id')).toEqual([
    { id: 1, note: 'changed' },
    { id: 2, note: 'changed' },
  ]);
});

test('executeEach runs its statements after the deferred ones, in the same message, and gives each its rows', async () => {
  const { result, messages } = await countMessages(() =>
    inTransaction(orm, async (tx) => {
      tx.defer('insert into pipelined (id, note) values (?, ?)', [1, 'one']);
      return tx.executeEach([
        { statement: 'select note from pipelined where id = ?', params: [1] },
        { statement: prepared('select count(*)::int as n from pipelined where id > ?'), params: [5] },
        { statement: 'insert into pipelined (id, note) values (?, ?) returning id', params: [7, 'seven'] },
      ]);
    }),
  );
  expect(result).toEqual([[{ note: 'one' }], [{ n: 0 }], [{ id: 7 }]]);
  expect(messages).toHaveLength(2);
  expect(messages[0]).toMatch(/^begin;\ninsert .*;\nselect note .*;\nprepare .*;\nexecute .*;\ninsert .*returning id$/s);
  expect(messages[1]).toBe('commit');
});

test("a deferred statement's error is thrown typed from the next statement, and nothing of the transaction stays", async () => {
  const failing = inTransaction(orm, async (tx) => {
    tx.defer('insert into pipelined (id, note) values (?, ?)', [1, 'first']);
    tx.defer('insert into pipelined (id, note) values (?, ?)', [1, 'again']);
    await tx.execute('select 1');
    throw new Error('not reached');
  });
  await expect(failing).rejects.toBeInstanceOf(UniqueConstraintViolationException);
  expect(await database.rows('select * from pipelined')).toEqual([]);

  const failingAtCommit = inTransaction(orm, async (tx) => {
    tx.defer('insert into pipelined (id, note) values (?, ?)', [2, 'first']);
    tx.defer('insert into pipelined (id, note) values (?, ?)', [2, 'again']);
  });
  await expect(failingAtCommit).rejects.toBeInstanceOf(UniqueConstraintViolationException);
  expect(await database.rows('select * from pipelined')).toEqual([]);
  // The connections went back to the pool usable: the next transaction commits.
  await inTransaction(orm, async (tx) => tx.defer('insert into pipelined (id, note) values (?, ?)', [3, 'after']));
  expect(await database.rows('select id from pipelined')).toEqual([{ id: 3 }]);
});

test('a transaction whose work throws writes nothing, sent or not', async () => {
  const thrown = new Error('the change failed half way');
  const failing = inTransaction(orm, async (tx) => {
    tx.defer('insert into pipelined (id, note) values (?, ?)', [1, 'sent']);
    await tx.execute('select 1');
    tx.defer('insert into pipelined (id, note) values (?, ?)', [2, 'never sent']);
    throw thrown;
  });
  await expect(failing).rejects.toBe(thrown);
  expect(await database.rows('select * from pipelined')).toEqual([]);
});

test('a prepared statement is prepared once per connection, in the message that first runs it, then run by name', async () => {
  const single = await openRecordsOrm(database.url, 1);
  try {
    const twice = prepared('select ?::int * 2 as n, ? as note');
    const run = (n: number, note: string) => inTransaction(single, (tx) => tx.execute<{ n: number; note: string }[]>(twice, [n, note]));
    const first = await countMessages(() => run(21, "it's"));
    const second = await countMessages(() => run(4, 'again'));
    expect([first.result, second.result]).toEqual([[{ n: 42, note: "it's" }], [{ n: 8, note: 'again' }]]);
    expect(first.messages[0]).toBe(`begin;\nprepare ${twice.name} as select $1::int * 2 as n, $2 as note;\nexecute ${twice.name}(21, 'it''s')`);
    expect(second.messages[0]).toBe(`begin;\nexecute ${twice.name}(4, 'again')`);
    expect(prepared('select ?::int * 2 as n, ? as note')).toBe(twice);
    // A list cannot be a value of a prepared statement: it would change the text.
    await expect(inTransaction(single, (tx) => tx.execute(twice, [[1, 2], 'list']))).rejects.toBeInstanceOf(TypeError);
  } finally {
    await single.close();
  }
});

test("a prepared statement's values reach PostgreSQL as they were, whatever standard_conforming_strings says", async () => {
  const single = await openRecordsOrm(database.url, 1);
  const tricky = ["it's", 'C:\\path\\', "both ' and \\'", '{"json":"with \\"quotes\\""}', 'line\nbreak', ''];
  const at = new Date('2026-11-30T21:25:21.123Z');
  try {
    const echo = prepared('select ?::text as s, ?::int as n, ?::bigint as b, ?::boolean as t, ?::timestamptz as at, ?::text as missing');
    for (const conforming of ['on', 'off']) {
      for (const text of tricky) {
        const rows = await inTransaction(single, async (tx) => {
          await tx.execute(`set local standard_conforming_strings = ${conforming}`);
          return tx.execute<Record<string, unknown>[]>(echo, [text, -7, 9007199254740993n, false, at, null]);
        });
        expect(rows.map((row) => ({ ...row, at: new Date(row.at as string) }))).toEqual([{ s: text, n: -7, b: '9007199254740993', t: false, at, missing: null }]);
      }
    }
    await expect(inTransaction(single, (tx) => tx.execute(echo, ['x', Number.NaN, 1, true, at, null]))).rejects.toBeInstanceOf(TypeError);
  } finally {
    await single.close();
  }
});

test('after a failure in the message that prepared a statement, the connection prepares it again', async () => {
  const single = await openRecordsOrm(database.url, 1);
  try {
    const statement = prepared('select ?::text as note');
    // The `prepare` runs, then the duplicate insert fails: the statement exists on the connection, unrecorded.
    const failing = inTransaction(single, async (tx) => {
      tx.defer('insert into pipelined (id, note) values (?, ?)', [1, 'first']);
      tx.defer(statement, ['prepared here']);
      tx.defer('insert into pipelined (id, note) values (?, ?)', [1, 'again']);
      await tx.execute('select 1');
    });
    await expect(failing).rejects.toBeInstanceOf(UniqueConstraintViolationException);
    const { result, messages } = await countMessages(() => inTransaction(single, (tx) => tx.execute(statement, ['after'])));
    expect(result).toEqual([{ note: 'after' }]);
    expect(messages[0]).toContain(`prepare ${statement.name} as`);
    expect(await database.rows('select * from pipelined')).toEqual([]);
  } finally {
    await single.close();
  }
});

test('a count change is two round trips: the lock with every read, then every write with the commit', async () => {
  await publishTypes(database.url, { trips: { provider: 'local' } });
  const servers = await DynamicServers.open({ databaseUrl: database.url, poolSize: 2 });
  try {
    // The first call on a type also reads which types were ever published (kept for the next calls).
    await servers.ensure('trips', 0);
    const up = await countMessages(() => servers.ensure('trips', 3));
    const down = await countMessages(() => servers.ensure('trips', 1));
    const noChange = await countMessages(() => servers.ensure('trips', 1));
    expect([up.messages.length, down.messages.length, noChange.messages.length]).toEqual([2, 2, 2]);
    expect(up.result.createdServerIds).toHaveLength(3);
    expect(new Set(up.result.createdServerIds).size).toBe(3);
    expect(down.result.stoppingServerIds).toHaveLength(2);
    expect(await servers.provisionedCount('trips')).toBe(1);

    // More servers than the first read takes ids for: the rest are taken in one more round trip.
    const many = await countMessages(() => servers.ensure('trips', 41));
    expect(many.messages).toHaveLength(3);
    expect(new Set(many.result.createdServerIds).size).toBe(40);
    expect(await servers.provisionedCount('trips')).toBe(41);
    await servers.ensure('trips', 0);
  } finally {
    await servers.close();
  }
});

/** The types (or providers, `space` 2) whose locks `lines` take, in the order taken. */
function lockedNames(lines: readonly string[], space: 1 | 2 = 1): string[] {
  const pattern = new RegExp(`^execute dynamic_servers_\\d+\\(114629000${space}, '([^']+)'\\)$`);
  return lines.flatMap((line) => pattern.exec(line)?.[1] ?? []);
}

test('count changes of several types that wait for a connection run in one transaction: every lock in name order, then every read, in its first message', async () => {
  await publishTypes(database.url, { delta: { provider: 'local' }, alpha: { provider: 'capped' }, charlie: { provider: 'capped' }, bravo: { provider: 'local' } }, { capped: { maximum: 10 } });
  const servers = await DynamicServers.open({ databaseUrl: database.url, poolSize: 1 });
  try {
    for (const name of ['alpha', 'bravo', 'charlie', 'delta']) await servers.ensure(name, 0);
    // The first runs alone at once and holds the one connection; the other three wait for it, then run together.
    const { result, messages } = await countMessages(() => Promise.all([servers.ensure('bravo', 1), servers.ensure('delta', 2), servers.ensure('alpha', 1), servers.ensure('charlie', 2)]));
    expect(result.map((change) => [change.serverType, change.createdServerIds.length, change.after])).toEqual([
      ['bravo', 1, 1],
      ['delta', 2, 2],
      ['alpha', 1, 1],
      ['charlie', 2, 2],
    ]);
    // The one alone (two round trips), then the three together.
    const opening = messages[2]!.split(';\n');
    const after = messages.slice(3).flatMap((message) => message.split(';\n'));
    expect(opening[0]).toBe('begin');
    expect(lockedNames(opening)).toEqual(['alpha', 'charlie', 'delta']);
    // Three reads, after every lock.
    const reads = opening.filter((line) => line.startsWith('execute') && lockedNames([line]).length === 0);
    expect(reads).toHaveLength(3);
    expect(opening.findIndex((line) => reads.includes(line))).toBeGreaterThan(opening.findLastIndex((line) => lockedNames([line]).length > 0));
    // The limited provider's lock comes first in the next message, before anything is written, and no type's lock after it.
    expect(lockedNames([after[0]!], 2)).toEqual(['capped']);
    expect(lockedNames(after)).toEqual([]);
    expect(after.at(-1)).toBe('commit');
    for (const name of ['alpha', 'bravo', 'charlie', 'delta']) await servers.ensure(name, 0);
  } finally {
    await servers.close();
  }
});

test('a publication takes the locks of the types it changes or retires in name order, before it writes any', async () => {
  await publishTypes(database.url, { zulu: { provider: 'local' }, mike: { provider: 'local' }, alpha: { provider: 'local' }, kilo: { provider: 'local' } });
  // zulu and alpha change, bravo is new, mike is retired, kilo stays as it is.
  const { result, messages } = await countMessages(() =>
    publishTypes(database.url, { zulu: { provider: 'local', maximum: 3 }, bravo: { provider: 'local' }, alpha: { provider: 'local', maximum: 3 }, kilo: { provider: 'local' } }),
  );
  expect(result.published.map((type) => type.serverType)).toEqual(['zulu', 'bravo', 'alpha']);
  expect(result.retired).toEqual(['mike']);
  const lines = messages.flatMap((message) => message.split(';\n'));
  expect(lockedNames(lines)).toEqual(['alpha', 'bravo', 'mike', 'zulu']);
  const lastLock = lines.findLastIndex((line) => lockedNames([line]).length > 0);
  expect(lastLock).toBeGreaterThan(-1);
  expect(lines.findIndex((line) => /^(insert|update) /.test(line))).toBeGreaterThan(lastLock);
});

test("asking past a type's limit takes no server ids: the next server made gets the next id", async () => {
  await publishTypes(database.url, { capped: { provider: 'local', maximum: 2 }, other: { provider: 'local' } });
  const servers = await DynamicServers.open({ databaseUrl: database.url, poolSize: 2 });
  try {
    const made = await servers.ensure('capped', 2);
    for (let call = 0; call < 3; call++) {
      const refused = await servers.ensure('capped', 20);
      expect([refused.createdServerIds, refused.limitHit?.scope]).toEqual([[], 'serverType']);
    }
    const next = await servers.ensure('other', 1);
    expect(next.createdServerIds).toEqual([Math.max(...made.createdServerIds) + 1]);
    await servers.ensure('capped', 0);
    await servers.ensure('other', 0);
  } finally {
    await servers.close();
  }
});

test('an ensure waiting behind a publication that retires its type is refused, and creates nothing', async () => {
  await publishTypes(database.url, { kept: { provider: 'local' }, leaving: { provider: 'local' } });
  const servers = await DynamicServers.open({ databaseUrl: database.url, poolSize: 2 });
  const holder = new pg.Client({ connectionString: database.url });
  await holder.connect();
  try {
    // Hold the type's lock (the key lockServerType takes), so both the publication and the ensure queue behind it.
    await holder.query('begin');
    await holder.query('select pg_advisory_xact_lock(1146290001, hashtext($1))', ['leaving']);
    const waiting = async () =>
      Number((await database.rows<{ n: number }>(`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`))[0]?.n);
    const publication = publishTypes(database.url, { kept: { provider: 'local' } });
    await pollFor('the publication to wait for the lock', 10_000, async () => ((await waiting()) >= 1 ? true : undefined));
    const ensure = servers.ensure('leaving', 2);
    ensure.catch(() => {});
    await pollFor('the ensure to wait for the lock', 10_000, async () => ((await waiting()) >= 2 ? true : undefined));
    await holder.query('commit');

    expect((await publication).retired).toEqual(['leaving']);
    await expect(ensure).rejects.toBeInstanceOf(UnknownServerTypeError);
    expect(await database.rows(`select id from server where type = 'leaving'`)).toEqual([]);
  } finally {
    await holder.end();
    await servers.close();
  }
});

test('recordTransitions moves many servers in one transaction, and leaves the ones that moved on or are gone as they are', async () => {
  await publishTypes(database.url, { batch: { provider: 'local' } });
  const records = await EngineRecords.openForEngine({ databaseUrl: database.url, poolSize: 2 });
  try {
    const heard: string[] = [];
    records.on('starting', (event) => heard.push(`${event.server.id}:${event.server.status}`));
    const { createdServerIds: ids } = await records.ensure('batch', 3);
    const [first, movedOn, third] = ids as [number, number, number];
    await records.recordTransition(movedOn, 'starting', { reason: 'pulumi up created it', providerId: 'vm-b' });
    heard.length = 0;

    const { result, messages } = await countMessages(() =>
      records.recordTransitions([
        { serverId: first, to: 'starting', details: { reason: 'pulumi up created it', providerId: 'vm-a' } },
        { serverId: movedOn, to: 'starting', details: { reason: 'pulumi up created it', providerId: 'vm-b2' } },
        { serverId: 999_999, to: 'starting', details: { reason: 'pulumi up created it', providerId: 'vm-x' } },
        { serverId: third, to: 'starting', details: { reason: 'pulumi up created it', providerId: 'vm-c' } },
      ]),
    );
    expect(result.map((server) => server && `${server.id}:${server.status}:${server.providerId}`)).toEqual([`${first}:starting:vm-a`, null, null, `${third}:starting:vm-c`]);
    expect(messages.filter((message) => /^begin/.test(message))).toHaveLength(1);
    expect(heard).toEqual([`${first}:starting`, `${third}:starting`]);
    const rows = await database.rows<{ id: string; status: string; provider_id: string }>(`select id, status, provider_id from server where type = 'batch' order by id`);
    expect(rows.map((row) => `${row.id}:${row.status}:${row.provider_id}`)).toEqual([`${first}:starting:vm-a`, `${movedOn}:starting:vm-b`, `${third}:starting:vm-c`]);
    expect(await records.recordTransitions([{ serverId: 0, to: 'starting', details: { reason: 'x' } }]).catch((error: unknown) => error)).toBeInstanceOf(InvalidInputError);
  } finally {
    await records.close();
  }
});
