// Every call of the public API on a real embedded PostgreSQL: what it returns, the rows it writes (servers,
// status history, desired state), the workers it wakes and the events it emits.
import { describe, expect, test } from '@jest/globals';
import {
  DynamicServers,
  DynamicServersClosedError,
  InvalidConfigurationError,
  InvalidServerNameError,
  NothingPublishedError,
  SERVER_STATUSES,
  ServerLimitError,
  UnknownServerTypeError,
  VictimStrategyError,
  type DynamicServersEventName,
  type DynamicServersEvents,
  type DynamicServersOptions,
  type VictimStrategy,
} from '../../src/api.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { ServerTypeInUseError } from '../../src/records/registry.ts';
import { templateHash } from '../../src/records/template.ts';
import { publishTypes, WakeRecorder, type TestServerType } from '../support/published-types.ts';
import { useRecordsDatabase, walk } from './support/records-database.ts';

const WORKER_TEMPLATE = { image: 'ubuntu-24.04', size: 'small', labels: { role: 'worker' } };

const { database, opened } = useRecordsDatabase('records_api');

const TYPES: Record<string, TestServerType> = {
  default: { provider: 'local' },
  worker: { provider: 'local', template: WORKER_TEMPLATE },
  other: { provider: 'elsewhere' },
};

/**
 * Publishes `types` (default: default, worker and other) and `providers`, then opens the records on the test
 * database (the engine's view, so tests can walk servers through statuses), recording the events and the wake-ups.
 */
async function open(options: Partial<DynamicServersOptions> & { types?: Record<string, TestServerType>; providers?: Record<string, { maximum?: number }> } = {}) {
  const { types = TYPES, providers = {}, ...recordsOptions } = options;
  await publishTypes(database().url, types, providers);
  const wake = await WakeRecorder.start(database().url);
  opened.push({ close: () => wake.stop() });
  const servers = await EngineRecords.openForEngine({ databaseUrl: database().url, ...recordsOptions });
  opened.push(servers);
  const events: { name: DynamicServersEventName; payload: DynamicServersEvents[DynamicServersEventName] }[] = [];
  for (const name of ['creating', 'starting', 'running', 'rebooting', 'stopping', 'stopped', 'deleting', 'deleted', 'errored', 'hanging', 'limitHit'] as const) {
    servers.on(name, (payload) => events.push({ name, payload }));
  }
  return { servers, wake, events };
}

/** History of one server as `from>to: reason` strings. */
async function historyOf(servers: DynamicServers, serverId: number): Promise<string[]> {
  return (await servers.statusHistory(serverId)).map((change) => `${change.from ?? 'null'}>${change.to}: ${change.reason}`);
}



describe('open', () => {
  test('runs the migrations once, makes the installation id once, and the tables match the entities exactly', async () => {
    const first = await open();
    const second = await open();
    expect(await database().rows('select name from dynamic_servers_migrations order by name')).toEqual([
      { name: '0001-create-server-records' },
      { name: '0002-add-reboot-sent-at' },
      { name: '0003-create-config-registry' },
      { name: '0004-add-create-backoff' },
      { name: '0005-create-installation' },
      { name: '0006-add-offerings-and-prices' },
      { name: '0007-add-rollout-and-drain' },
    ]);
    // The installation id is made once per database and read by every instance.
    expect(first.servers.installationId).toMatch(/^[0-9a-f]{8}$/);
    expect(second.servers.installationId).toBe(first.servers.installationId);
    expect(await database().rows('select id from installation')).toEqual([{ id: first.servers.installationId }]);
    const { MikroORM } = await import('@mikro-orm/postgresql');
    const { RECORD_ENTITIES } = await import('../../src/records/entities/index.ts');
    const orm = await MikroORM.init({ clientUrl: database().url, entities: RECORD_ENTITIES, schemaGenerator: { skipTables: ['dynamic_servers_migrations'] } });
    try {
      expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
    } finally {
      await orm.close();
    }
  });
});

describe('ensure', () => {
  test('creates servers with status new from the published template, their history rows, a desired-state version, a wake-up and creating events', async () => {
    const { servers, wake, events } = await open();
    const change = await servers.ensure('worker', 3);
    expect(change).toEqual({
      serverType: 'worker',
      before: 0,
      after: 3,
      desiredCount: 3,
      changed: true,
      version: 1,
      createdServerIds: [1, 2, 3],
      stoppingServerIds: [],
      limitHit: null,
      createsPausedUntil: null,
    });

    const rows = await servers.servers();
    const installation = servers.installationId;
    expect(rows.map((server) => [server.id, server.name, server.serverType, server.provider, server.status])).toEqual([
      [1, `worker-1-${installation}`, 'worker', 'local', 'new'],
      [2, `worker-2-${installation}`, 'worker', 'local', 'new'],
      [3, `worker-3-${installation}`, 'worker', 'local', 'new'],
    ]);
    expect(rows[0]?.template).toEqual(WORKER_TEMPLATE);
    expect(rows[0]?.templateHash).toBe(templateHash(WORKER_TEMPLATE));
    expect(rows[0]).toMatchObject({ providerId: null, addresses: {}, meta: {}, rebootRequestedAt: null, lastError: null });
    for (const server of rows) expect(await historyOf(servers, server.id)).toEqual(['null>new: ensure(worker, 3)']);

    expect(await servers.desiredState('worker')).toMatchObject({ serverType: 'worker', desiredCount: 3, version: 1, appliedVersion: 0, workRemains: true });
    expect(await wake.settle()).toEqual(['worker']);
    expect(events.map((event) => event.name)).toEqual(['creating', 'creating', 'creating']);
    expect(events[0]?.payload).toMatchObject({ from: null, reason: 'ensure(worker, 3)', server: { id: 1, status: 'new' } });
  });

  test('lowers the count by stopping servers not yet running first, then the newest', async () => {
    const { servers, wake, events } = await open();
    await servers.ensure('worker', 5);
    await walk(servers, 1, 'starting', 'running');
    await walk(servers, 2, 'starting', 'running');
    await walk(servers, 3, 'starting');
    await walk(servers, 4, 'starting', 'running');
    events.length = 0;
    (await wake.settle()).length = 0;

    // Server 5 is new and 3 is starting: they go first; then the newest running server, 4.
    const change = await servers.ensure('worker', 2);
    expect(change).toMatchObject({ before: 5, after: 2, changed: true, version: 2, createdServerIds: [], stoppingServerIds: [3, 4, 5] });
    expect((await servers.servers({ provisioned: true })).map((server) => server.id)).toEqual([1, 2]);
    expect(await historyOf(servers, 5)).toEqual(['null>new: ensure(worker, 5)', 'new>stopping: ensure(worker, 2)']);
    expect(await historyOf(servers, 3)).toEqual(['null>new: ensure(worker, 5)', 'new>starting: test: starting', 'starting>stopping: ensure(worker, 2)']);
    expect(await historyOf(servers, 4)).toEqual([
      'null>new: ensure(worker, 5)',
      'new>starting: test: starting',
      'starting>running: test: running',
      'running>stopping: ensure(worker, 2)',
    ]);
    expect(await wake.settle()).toEqual(['worker']);
    expect(events.map((event) => [event.name, 'server' in event.payload ? event.payload.from : null])).toEqual([
      ['stopping', 'starting'],
      ['stopping', 'running'],
      ['stopping', 'new'],
    ]);
    expect(await servers.desiredState('worker')).toMatchObject({ desiredCount: 2, version: 2 });
  });

  test('writes nothing when the count is already right', async () => {
    const { servers, wake, events } = await open();
    await servers.ensure('worker', 2);
    const before = await database().checksums();
    const change = await servers.ensure('worker', 2);
    expect(change).toMatchObject({ before: 2, after: 2, changed: false, version: 1, createdServerIds: [], stoppingServerIds: [] });
    expect(await database().checksums()).toEqual(before);
    expect(await wake.settle()).toEqual(['worker']);
    expect(events).toHaveLength(2);
  });

  test('uses the default server type when the type is undefined', async () => {
    const { servers } = await open();
    await servers.ensure(undefined, 2);
    expect(await servers.provisionedCount('default')).toBe(2);
    expect(await servers.provisionedCount('worker')).toBe(0);
  });
});

describe('increase and decrease', () => {
  test('increase adds servers, decrease stops them, and decrease stops no more than exist', async () => {
    const { servers, wake } = await open();
    expect(await servers.increase()).toMatchObject({ serverType: 'default', before: 0, after: 1, createdServerIds: [1] });
    expect(await servers.increase('worker', 3)).toMatchObject({ serverType: 'worker', before: 0, after: 3, createdServerIds: [2, 3, 4], version: 1 });
    expect(await servers.decrease('worker')).toMatchObject({ before: 3, after: 2, stoppingServerIds: [4], version: 2 });
    expect(await servers.decrease('worker', 10)).toMatchObject({ before: 2, after: 0, stoppingServerIds: [2, 3], version: 3 });
    expect(await servers.decrease('worker', 1)).toMatchObject({ before: 0, after: 0, changed: false, version: 3 });
    expect(await servers.decrease()).toMatchObject({ serverType: 'default', before: 1, after: 0, stoppingServerIds: [1] });
    expect(await historyOf(servers, 2)).toEqual(['null>new: increase(worker, 3)', 'new>stopping: decrease(worker, 10)']);
    expect(await wake.settle()).toEqual(['default', 'worker', 'worker', 'worker', 'default']);
    expect(await servers.countPerStatus()).toMatchObject({ new: 0, stopping: 4 });
  });

  test('a swapped-in victim strategy chooses the victims', async () => {
    const oldestFirst: VictimStrategy = (candidates, count) => [...candidates].sort((a, b) => a.id - b.id).slice(0, count);
    const { servers } = await open({ victimStrategy: oldestFirst });
    await servers.ensure('worker', 4);
    expect((await servers.decrease('worker', 2)).stoppingServerIds).toEqual([1, 2]);
  });

  test('a victim strategy that returns the wrong servers is refused and nothing is written', async () => {
    const { servers } = await open({ victimStrategy: (candidates) => candidates.slice(0, 1) });
    await servers.ensure('worker', 3);
    const before = await database().checksums();
    await expect(servers.decrease('worker', 2)).rejects.toBeInstanceOf(VictimStrategyError);
    expect(await database().checksums()).toEqual(before);
  });
});

describe('reboot', () => {
  test('reboots running servers of that type only, and marks new, starting and rebooting ones to reboot once they run', async () => {
    const { servers, wake, events } = await open();
    await servers.ensure('worker', 4);
    await servers.ensure('other', 1);
    await walk(servers, 1, 'starting', 'running');
    await walk(servers, 2, 'starting');
    await walk(servers, 3, 'starting', 'running', 'rebooting');
    await walk(servers, 5, 'starting', 'running');
    events.length = 0;
    (await wake.settle()).length = 0;

    const request = await servers.reboot('worker');
    expect(request).toEqual({ serverType: 'worker', rebootingServerIds: [1], deferredServerIds: [2, 3, 4], changed: true, version: 2 });
    const byId = new Map((await servers.servers()).map((server) => [server.id, server]));
    // Its reboot has begun: nothing is pending.
    expect(byId.get(1)).toMatchObject({ status: 'rebooting', rebootRequestedAt: null });
    expect(byId.get(2)).toMatchObject({ status: 'starting' });
    expect(byId.get(2)?.rebootRequestedAt).toBeInstanceOf(Date);
    expect(byId.get(4)).toMatchObject({ status: 'new' });
    expect(byId.get(4)?.rebootRequestedAt).toBeInstanceOf(Date);
    // Already rebooting: it reboots once more when this reboot ends.
    expect(byId.get(3)).toMatchObject({ status: 'rebooting' });
    expect(byId.get(3)?.rebootRequestedAt).toBeInstanceOf(Date);
    expect(byId.get(5)).toMatchObject({ status: 'running', rebootRequestedAt: null });
    expect((await historyOf(servers, 1)).at(-1)).toBe('running>rebooting: reboot requested');
    expect(await historyOf(servers, 2)).toEqual(['null>new: ensure(worker, 4)', 'new>starting: test: starting']);
    expect(await wake.settle()).toEqual(['worker']);
    expect(events.map((event) => event.name)).toEqual(['rebooting']);
    expect(await servers.desiredState('worker')).toMatchObject({ version: 2, desiredCount: 4 });
    expect(await servers.desiredState('other')).toMatchObject({ version: 1 });
  });

  test('a server still starting is rebooted once it runs, and the request is cleared when the reboot ends', async () => {
    const { servers, wake, events } = await open();
    await servers.ensure('worker', 1);
    await walk(servers, 1, 'starting');
    await servers.reboot('worker');
    events.length = 0;
    (await wake.settle()).length = 0;

    const running = await servers.recordTransition(1, 'running', { reason: 'booted', providerId: 'vm-17', addresses: { ipv4: '203.0.113.7' } });
    expect(running).toMatchObject({ status: 'rebooting', providerId: 'vm-17', addresses: { ipv4: '203.0.113.7' } });
    const history = await historyOf(servers, 1);
    expect(history.slice(-2)[0]).toBe('starting>running: booted');
    expect(history.slice(-1)[0]).toMatch(/^running>rebooting: reboot requested at \S+ while starting$/);
    expect(events.map((event) => event.name)).toEqual(['running', 'rebooting']);
    expect(await wake.settle()).toEqual(['worker']);

    const rebooted = await servers.recordTransition(1, 'running', { reason: 'rebooted' });
    expect(rebooted).toMatchObject({ status: 'running', rebootRequestedAt: null });
    expect(await wake.settle()).toEqual(['worker']);
  });

  test('a reboot requested while a server reboots runs once that reboot ends; more requests meanwhile add nothing', async () => {
    const { servers, wake, events } = await open();
    await servers.ensure('worker', 1);
    await walk(servers, 1, 'starting', 'running');
    await servers.reboot('worker');
    expect(await servers.claimReboot(1)).toBe(true);
    events.length = 0;
    (await wake.settle()).length = 0;

    expect(await servers.reboot('worker')).toMatchObject({ rebootingServerIds: [], deferredServerIds: [1], changed: true, version: 3 });
    expect(await servers.reboot('worker')).toMatchObject({ rebootingServerIds: [], deferredServerIds: [], changed: false, version: 3 });
    expect(await servers.server(1)).toMatchObject({ status: 'rebooting', rebootSentAt: expect.any(Date), rebootRequestedAt: expect.any(Date) });
    expect(events).toEqual([]);
    expect(await wake.settle()).toEqual(['worker']);
    wake.wakes.length = 0;

    const again = await servers.recordTransition(1, 'running', { reason: 'rebooted' });
    expect(again).toMatchObject({ status: 'rebooting', rebootRequestedAt: null, rebootSentAt: null });
    expect((await historyOf(servers, 1)).slice(-3)).toEqual([
      'running>rebooting: reboot requested',
      'rebooting>running: rebooted',
      expect.stringMatching(/^running>rebooting: reboot requested at \S+ while rebooting$/),
    ]);
    expect(events.map((event) => event.name)).toEqual(['running', 'rebooting']);
    expect(await wake.settle()).toEqual(['worker']);

    expect(await servers.claimReboot(1)).toBe(true);
    expect(await servers.recordTransition(1, 'running', { reason: 'rebooted again' })).toMatchObject({ status: 'running', rebootRequestedAt: null, rebootSentAt: null });
  });

  test('a type without servers to reboot writes nothing', async () => {
    const { servers } = await open();
    expect(await servers.reboot()).toEqual({ serverType: 'default', rebootingServerIds: [], deferredServerIds: [], changed: false, version: 0 });
    expect(await database().rows('select * from desired_state')).toEqual([]);
  });
});

describe('meta', () => {
  test('mergeMeta merges into the server\'s meta and returns the record, with no history row, event or wake-up', async () => {
    const { servers, wake, events } = await open();
    await servers.ensure('worker', 2);
    await servers.recordTransition(1, 'starting', { reason: 'booting', meta: { zone: 'fsn1', owner: 'ops' } });
    events.length = 0;
    (await wake.settle()).length = 0;
    const history = await historyOf(servers, 1);

    const merged = await servers.mergeMeta(1, { owner: 'team-a', tags: ['gpu', 'spot'], cost: { hourly: 0.05 } });
    expect(merged).toMatchObject({ id: 1, status: 'starting', meta: { zone: 'fsn1', owner: 'team-a', tags: ['gpu', 'spot'], cost: { hourly: 0.05 } } });
    expect(await servers.server(1)).toEqual(merged);
    expect(await servers.mergeMeta(1, { cost: { daily: 1.2 } })).toMatchObject({ meta: { zone: 'fsn1', owner: 'team-a', tags: ['gpu', 'spot'], cost: { daily: 1.2 } } });
    expect((await servers.server(2)).meta).toEqual({});
    expect(await historyOf(servers, 1)).toEqual(history);
    expect(events).toEqual([]);
    expect(await wake.settle()).toEqual([]);
  });
});

describe('counts and queries', () => {
  test('provisionedCount counts new, starting, running and rebooting only; countPerStatus counts every status', async () => {
    const { servers } = await open();
    await servers.ensure('worker', 7);
    await servers.ensure('other', 2);
    await walk(servers, 2, 'starting');
    await walk(servers, 3, 'starting', 'running');
    await walk(servers, 4, 'starting', 'running', 'rebooting');
    await walk(servers, 5, 'starting', 'errored');
    await walk(servers, 6, 'starting', 'hanging');
    await walk(servers, 7, 'starting', 'running', 'stopping');

    expect(await servers.provisionedCount('worker')).toBe(4);
    expect(await servers.provisionedCount('other')).toBe(2);
    expect(await servers.provisionedCount()).toBe(6);
    expect(await servers.countPerStatus('worker')).toEqual({
      new: 1, starting: 1, running: 1, rebooting: 1, draining: 0, stopping: 1, stopped: 0, deleting: 0, deleted: 0, errored: 1, hanging: 1,
    });
    expect(Object.keys(await servers.countPerStatus())).toEqual([...SERVER_STATUSES]);
    expect((await servers.countPerStatus()).new).toBe(3);

    // An errored server no longer counts, so ensure replaces it.
    expect(await servers.ensure('worker', 5)).toMatchObject({ before: 4, after: 5, createdServerIds: [10] });
  });

  test('servers() filters by type, provider, status, provisioned and limit, oldest first', async () => {
    const { servers } = await open();
    await servers.ensure('worker', 3);
    await servers.ensure('other', 2);
    await walk(servers, 2, 'starting', 'errored');
    const ids = async (query: Parameters<DynamicServers['servers']>[0]) => (await servers.servers(query)).map((server) => server.id);
    expect(await ids({})).toEqual([1, 2, 3, 4, 5]);
    expect(await ids({ serverType: 'worker' })).toEqual([1, 2, 3]);
    expect(await ids({ provider: 'elsewhere' })).toEqual([4, 5]);
    expect(await ids({ status: 'errored' })).toEqual([2]);
    expect(await ids({ status: ['errored', 'new'], serverType: 'worker' })).toEqual([1, 2, 3]);
    expect(await ids({ provisioned: false })).toEqual([2]);
    expect(await ids({ provisioned: true, limit: 2 })).toEqual([1, 3]);
    expect(await servers.server(4)).toMatchObject({ id: 4, name: `other-4-${servers.installationId}`, serverType: 'other', provider: 'elsewhere' });
  });
});

describe('status transitions and events', () => {
  test('each status fires its event with the status left and the reason; errors are stored on the row', async () => {
    const { servers, events } = await open();
    await servers.ensure('worker', 3);
    await walk(servers, 1, 'starting', 'running', 'rebooting', 'running', 'stopping', 'stopped', 'deleting', 'deleted');
    await walk(servers, 2, 'starting', 'hanging');
    const failure = new RangeError('quota exhausted');
    const errored = await servers.recordTransition(3, 'errored', { reason: 'create failed', error: failure });
    expect(errored.lastError).toEqual({ class: 'RangeError', message: 'quota exhausted', stack: failure.stack });
    expect(events.map((event) => `${event.name}${'server' in event.payload ? ` ${event.payload.server.id} from ${event.payload.from}` : ''}`)).toEqual([
      'creating 1 from null', 'creating 2 from null', 'creating 3 from null',
      'starting 1 from new', 'running 1 from starting', 'rebooting 1 from running', 'running 1 from rebooting',
      'stopping 1 from running', 'stopped 1 from stopping', 'deleting 1 from stopped', 'deleted 1 from deleting',
      'starting 2 from new', 'hanging 2 from starting',
      'errored 3 from new',
    ]);
    expect(await historyOf(servers, 1)).toHaveLength(9);
    expect((await servers.server(1)).status).toBe('deleted');
  });

  test('an error is stored without the secrets the records were told to scrub (a provider may echo its credentials)', async () => {
    const { servers } = await open({ scrubText: (text: string) => text.replaceAll('s3cret-token', '[redacted]') } as Partial<DynamicServersOptions>);
    await servers.ensure('worker', 1);
    const failure = new Error('the cloud says: token s3cret-token is not allowed');
    const errored = await servers.recordTransition(1, 'errored', { reason: 'refused with s3cret-token', error: failure });
    expect(errored.lastError?.message).toBe('the cloud says: token [redacted] is not allowed');
    expect(errored.lastError?.stack).not.toContain('s3cret-token');
    expect(await database().rows("select 1 from server_status_change where reason like '%s3cret%' union all select 1 from server where last_error_message like '%s3cret%'")).toEqual([]);
  });

  test('a listener that throws neither fails the call nor stops the other listeners', async () => {
    const listenerErrors: unknown[] = [];
    const { servers, events } = await open({ onListenerError: (error) => listenerErrors.push(error) });
    servers.on('creating', () => {
      throw new Error('listener failed');
    });
    const seen: number[] = [];
    const stop = servers.on('creating', (event) => seen.push(event.server.id));
    await servers.ensure('worker', 2);
    stop();
    await servers.ensure('worker', 3);
    expect(listenerErrors).toHaveLength(3);
    expect(seen).toEqual([1, 2]);
    expect(events.filter((event) => event.name === 'creating')).toHaveLength(3);
  });
});

describe('limits', () => {
  test('a server type maximum creates what fits and emits limitHit', async () => {
    const { servers, events } = await open({ types: { worker: { provider: 'local', maximum: 3 } } });
    const change = await servers.ensure('worker', 5);
    const hit = { scope: 'serverType', serverType: 'worker', provider: 'local', maximum: 3, provisioned: 0, requested: 5, allowed: 3 };
    expect(change).toMatchObject({ before: 0, after: 3, changed: true, limitHit: hit });
    expect(events.map((event) => event.name)).toEqual(['creating', 'creating', 'creating', 'limitHit']);
    expect(events[3]?.payload).toEqual(hit);

    const atLimit = await servers.increase('worker', 1);
    expect(atLimit).toMatchObject({ before: 3, after: 3, changed: false, version: 1, limitHit: { provisioned: 3, requested: 1, allowed: 0 } });
    expect(await servers.decrease('worker', 1)).toMatchObject({ after: 2, changed: true });
  });

  test('a provider maximum holds across the server types on it', async () => {
    const { servers, events } = await open({
      types: { worker: { provider: 'local' }, web: { provider: 'local' }, other: { provider: 'elsewhere' } },
      providers: { local: { maximum: 4 } },
    });
    await servers.ensure('worker', 3);
    await servers.ensure('other', 6);
    const change = await servers.ensure('web', 3);
    expect(change).toMatchObject({ after: 1, limitHit: { scope: 'provider', provider: 'local', maximum: 4, provisioned: 3, requested: 3, allowed: 1 } });
    expect(events.filter((event) => event.name === 'limitHit')).toHaveLength(1);
    expect(await servers.provisionedCount()).toBe(10);
  });

  test("with onLimitHit 'throw' a request over a limit throws ServerLimitError and writes nothing", async () => {
    const { servers, events } = await open({ types: { worker: { provider: 'local', maximum: 3 } }, onLimitHit: 'throw' });
    await servers.ensure('worker', 2);
    const before = await database().checksums();
    const error = await servers.ensure('worker', 4).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerLimitError);
    expect((error as ServerLimitError).limit).toEqual({ scope: 'serverType', serverType: 'worker', provider: 'local', maximum: 3, provisioned: 2, requested: 2, allowed: 0 });
    expect(await database().checksums()).toEqual(before);
    expect(events.some((event) => event.name === 'limitHit')).toBe(false);
    expect(await servers.increase('worker')).toMatchObject({ after: 3 });
  });
});

describe('desired state', () => {
  test('every change bumps the version; markApplied records the version whose work is done and never moves back', async () => {
    const { servers } = await open();
    expect(await servers.desiredState('worker')).toEqual({
      serverType: 'worker',
      desiredCount: 0,
      version: 0,
      appliedVersion: 0,
      workRemains: false,
      updatedAt: null,
      createFailures: 0,
      createsPausedUntil: null,
    });
    await servers.ensure('worker', 2);
    await servers.increase('worker', 2);
    await servers.decrease('worker', 1);
    expect(await servers.desiredState('worker')).toMatchObject({ desiredCount: 3, version: 3, appliedVersion: 0, workRemains: true });
    expect(await servers.markApplied('worker', 2)).toMatchObject({ version: 3, appliedVersion: 2, workRemains: true });
    expect(await servers.markApplied('worker', 3)).toMatchObject({ appliedVersion: 3, workRemains: false });
    expect(await servers.markApplied('worker', 1)).toMatchObject({ appliedVersion: 3 });
    expect(await database().rows('select server_type, desired_count, version, applied_version from desired_state')).toEqual([
      { server_type: 'worker', desired_count: 3, version: 3, applied_version: 3 },
    ]);
  });
});

describe('wake-ups and names', () => {
  test('a change that is rolled back wakes no worker and emits no event', async () => {
    const { servers, wake, events } = await open({ victimStrategy: (candidates) => candidates.slice(0, 1) });
    await servers.ensure('worker', 3);
    (await wake.settle()).length = 0;
    events.length = 0;
    await expect(servers.decrease('worker', 2)).rejects.toBeInstanceOf(VictimStrategyError);
    expect(await wake.settle()).toEqual([]);
    expect(events).toEqual([]);
  });

  test('the server name action names new servers; a name already taken is refused and nothing is written', async () => {
    const { servers } = await open({ serverName: ({ serverType, provider, id, installation }) => `${provider}-${serverType}-${id * 10}-${installation.slice(0, 2)}` });
    await servers.ensure('worker', 2);
    const short = servers.installationId.slice(0, 2);
    expect((await servers.servers()).map((server) => server.name)).toEqual([`local-worker-10-${short}`, `local-worker-20-${short}`]);

    const constant = await open({ serverName: () => 'always-the-same' });
    await constant.servers.ensure('other', 1);
    const before = await database().checksums();
    await expect(constant.servers.increase('other')).rejects.toBeInstanceOf(InvalidServerNameError);
    await expect(constant.servers.increase('worker', 2)).rejects.toBeInstanceOf(InvalidServerNameError);
    expect(await database().checksums()).toEqual(before);
  });
});

describe('published server types', () => {
  test('a script opens with the database alone; each change reads the newest published version of its type', async () => {
    await publishTypes(database().url, { worker: { provider: 'local', template: WORKER_TEMPLATE, maximum: 2 } });
    const script = await DynamicServers.open({ databaseUrl: database().url });
    opened.push(script);
    expect((await script.serverTypes()).map((type) => [type.name, type.provider, type.version, type.settings.maxServers])).toEqual([['worker', 'local', 1, 2]]);
    expect(await script.ensure('worker', 3)).toMatchObject({ after: 2, limitHit: { maximum: 2 } });

    const bigger = { ...WORKER_TEMPLATE, size: 'large' };
    await publishTypes(database().url, { worker: { provider: 'local', template: bigger, maximum: 3 } });
    expect(await script.ensure('worker', 3)).toMatchObject({ before: 2, after: 3 });
    expect((await script.servers()).map((server) => server.template.size)).toEqual(['small', 'small', 'large']);
    expect((await script.serverTypes())[0]).toMatchObject({ version: 2, templateHash: templateHash(bigger) });
  });

  test('a type that is not published is refused with the published ones named; a database without any says how to publish', async () => {
    const empty = await DynamicServers.open({ databaseUrl: database().url });
    opened.push(empty);
    const never = await empty.ensure('worker', 1).catch((error: unknown) => error);
    expect(never).toBeInstanceOf(NothingPublishedError);
    expect(never).toBeInstanceOf(UnknownServerTypeError);
    expect((never as Error).message).toMatch(/npx dynamic-servers publish/);

    const { servers } = await open();
    const before = await database().checksums();
    const unknown = await servers.ensure('wrker', 1).catch((error: unknown) => error);
    expect(unknown).toBeInstanceOf(UnknownServerTypeError);
    expect(unknown).not.toBeInstanceOf(NothingPublishedError);
    expect((unknown as UnknownServerTypeError).known).toEqual(['default', 'other', 'worker']);
    expect(await database().checksums()).toEqual(before);
  });

  test('types are not configured in code any more: the old options are refused with a pointer to publishing', async () => {
    const error = await DynamicServers.open({ databaseUrl: database().url, serverTypes: { worker: { provider: 'local' } } } as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as Error).message).toMatch(/published stack files/);
  });

  test('retiring a type whose servers still run is refused; once they are gone its file may go, and its records stay readable', async () => {
    const { servers } = await open();
    await servers.ensure('other', 1);
    const refused = await publishTypes(database().url, { default: TYPES.default!, worker: TYPES.worker! }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ServerTypeInUseError);
    expect((await servers.serverTypes()).map((type) => type.name)).toEqual(['default', 'other', 'worker']);
    await walk(servers, 1, 'stopping', 'deleting', 'deleted');
    expect((await publishTypes(database().url, { default: TYPES.default!, worker: TYPES.worker! })).retired).toEqual(['other']);
    expect((await servers.serverTypes()).map((type) => type.name)).toEqual(['default', 'worker']);
    await expect(servers.ensure('other', 1)).rejects.toBeInstanceOf(UnknownServerTypeError);
    expect((await servers.servers({ serverType: 'other' })).map((server) => server.status)).toEqual(['deleted']);
  });
});

describe('close', () => {
  test('waits for calls in flight, then refuses new calls; closing twice is fine', async () => {
    const { servers } = await open();
    const inFlight = servers.ensure('worker', 2);
    const closed = servers.close();
    await expect(servers.provisionedCount()).rejects.toBeInstanceOf(DynamicServersClosedError);
    await expect(servers.ensure('worker', 1)).rejects.toBeInstanceOf(DynamicServersClosedError);
    expect(await inFlight).toMatchObject({ after: 2 });
    await closed;
    await servers.close();
    expect(await database().rows('select count(*)::int as servers from server')).toEqual([{ servers: 2 }]);
  });
});
