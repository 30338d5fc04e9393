// Servers that stop counting against the engine's will (they hang, error, vanish or are stopped by the cloud) and
// servers a person deletes, on a real embedded PostgreSQL: the type's policy, the replacement the desired count asks
// for, the back-off of failed creates, and what each writes (rows, history, desired state, events, wake-ups).
import { describe, expect, test } from '@jest/globals';
import { createPauseSeconds, CREATE_BACKOFF, lingers, type DynamicServersEventName, type DynamicServersEvents } from '../../src/api.ts';
import { recordsCoreOf } from '../../src/records/dynamic-servers.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { pollFor } from '../support/poll.ts';
import { publishTypes, WakeRecorder, type TestServerType } from '../support/published-types.ts';
import { useRecordsDatabase } from './support/records-database.ts';

const { database, opened } = useRecordsDatabase('records_failures');

const TYPES: Record<string, TestServerType> = {
  worker: { provider: 'local', template: { snapshot: 'base', size: 'small' } },
  kept: { provider: 'local', hangingServers: 'keep', erroredServers: 'keep' },
};

type HeardEvent = { name: DynamicServersEventName; payload: DynamicServersEvents[DynamicServersEventName] };

async function open(types: Record<string, TestServerType> = TYPES) {
  await publishTypes(database().url, types);
  const wake = await WakeRecorder.start(database().url);
  opened.push({ close: () => wake.stop() });
  const records = await EngineRecords.openForEngine({ databaseUrl: database().url });
  opened.push(records);
  const events: HeardEvent[] = [];
  for (const name of ['creating', 'starting', 'running', 'draining', 'stopping', 'deleted', 'errored', 'hanging', 'backingOff'] as const) {
    records.on(name, (payload) => events.push({ name, payload }));
  }
  return { records, wake, events };
}

/** History of one server as `from>to: reason` strings. */
async function historyOf(records: EngineRecords, serverId: number): Promise<string[]> {
  return (await records.statusHistory(serverId)).map((change) => `${change.from ?? 'null'}>${change.to}: ${change.reason}`);
}

/** Moves a new server to starting with a cloud id, as a `pulumi up` that created it does. */
async function started(records: EngineRecords, serverId: number): Promise<void> {
  await records.recordTransition(serverId, 'starting', { reason: 'pulumi up created it', providerId: `vm-${serverId}` });
}

/** Moves a new server to running with a cloud id. */
async function running(records: EngineRecords, serverId: number): Promise<void> {
  await started(records, serverId);
  await records.recordTransition(serverId, 'running', { reason: 'the cloud reports it running' });
}

test('the back-off schedule: the first failure is replaced at once, then 30 s doubling to 30 minutes', () => {
  expect(Array.from({ length: 11 }, (_, failures) => createPauseSeconds(failures))).toEqual([0, 0, 30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
  expect(createPauseSeconds(1_000)).toBe(CREATE_BACKOFF.maxPauseSeconds);
});

describe('the policy for hanging and errored servers', () => {
  test('delete: a server that hangs while starting is drained (at once: no drain hook) and goes on to stopping (the next update deletes it), and a replacement is created in the same change', async () => {
    const { records, wake, events } = await open();
    await records.ensure('worker', 2);
    await started(records, 1);
    await running(records, 2);
    events.length = 0;
    (await wake.settle()).length = 0;

    const hung = await records.recordFailure(1, 'hanging', { reason: 'still starting after the 1 s timeout' });
    expect(hung).toMatchObject({ id: 1, status: 'stopping', providerId: 'vm-1' });
    expect(lingers(hung!)).toBe(false);
    expect(await historyOf(records, 1)).toEqual([
      'null>new: ensure(worker, 2)',
      'new>starting: pulumi up created it',
      'starting>hanging: still starting after the 1 s timeout',
      "hanging>draining: the type's policy deletes hanging servers (hangingServers: delete)",
      'draining>stopping: drained at once: the type has no drain hook',
    ]);
    const replacement = (await records.servers({ serverType: 'worker', status: 'new' }))[0]!;
    expect(replacement).toMatchObject({ id: 3, template: { snapshot: 'base', size: 'small' } });
    expect(await historyOf(records, 3)).toEqual(['null>new: replaces servers that no longer count (1 of 2 desired)']);
    expect(await records.provisionedCount('worker')).toBe(2);
    expect(await records.desiredState('worker')).toMatchObject({ desiredCount: 2, version: 2, createFailures: 1, createsPausedUntil: null });
    expect(events.map((event) => event.name)).toEqual(['hanging', 'draining', 'stopping', 'creating']);
    expect(await wake.settle()).toEqual(['worker']);
  });

  test('keep: the hung server stays hanging with its cloud id (lingering: not counted, still in the cloud), and is replaced', async () => {
    const { records, events } = await open();
    await records.ensure('kept', 1);
    await started(records, 1);
    events.length = 0;

    const hung = await records.recordFailure(1, 'hanging', { reason: 'still starting after the 1 s timeout' });
    expect(hung).toMatchObject({ status: 'hanging', providerId: 'vm-1' });
    expect(lingers(hung!)).toBe(true);
    expect(events.map((event) => event.name)).toEqual(['hanging', 'creating']);
    expect((await records.servers({ serverType: 'kept' })).map((server) => [server.id, server.status])).toEqual([
      [1, 'hanging'],
      [2, 'new'],
    ]);
  });

  test('an errored create (the cloud refused it: no cloud id) stays errored under either policy, with its error, and is replaced', async () => {
    const { records } = await open();
    await records.ensure('worker', 1);
    const errored = await records.recordFailure(1, 'errored', {
      reason: 'pulumi up could not create it',
      error: { class: 'QuotaExceededError', message: 'server limit exceeded [provider-error:quota-exceeded]', stack: null },
    });
    expect(errored).toMatchObject({ status: 'errored', providerId: null, lastError: { class: 'QuotaExceededError', message: expect.stringContaining('server limit') } });
    expect(lingers(errored!)).toBe(false);
    expect((await records.servers({ serverType: 'worker' })).map((server) => server.status)).toEqual(['errored', 'new']);
    expect(await records.desiredState('worker')).toMatchObject({ createFailures: 1 });
  });

  test('a server that hung in new was never handed to the cloud: it is replaced but is no failed create', async () => {
    const { records } = await open();
    await records.ensure('worker', 1);
    expect(await records.recordFailure(1, 'hanging', { reason: 'still new after the 60 s timeout' })).toMatchObject({ status: 'hanging', providerId: null });
    expect(await records.provisionedCount('worker')).toBe(1);
    expect((await records.servers({ serverType: 'worker' })).map((server) => server.status)).toEqual(['hanging', 'new']);
    expect(await records.desiredState('worker')).toMatchObject({ createFailures: 0, createsPausedUntil: null });
  });

  test('a failure judged on a stale view is left alone: a second hang detection of the same server writes nothing', async () => {
    const { records } = await open();
    await records.ensure('worker', 1);
    await started(records, 1);
    const seen = await records.server(1);
    const view = { status: seen.status, since: seen.statusUpdatedAt };
    expect(await records.recordFailure(1, 'hanging', { reason: 'still starting after the 1 s timeout' }, view)).toMatchObject({ status: 'stopping' });
    const before = await database().checksums();
    // Without the view this would record stopping -> hanging; with it, the server has moved on and nothing is written.
    expect(await records.recordFailure(1, 'hanging', { reason: 'still starting after the 1 s timeout' }, view)).toBeNull();
    expect(await database().checksums()).toEqual(before);
  });

  test('a server that hangs while being deleted no longer counted: nothing is replaced and the policy does not apply', async () => {
    const { records } = await open();
    await records.ensure('worker', 1);
    await running(records, 1);
    await records.decrease('worker');
    await records.recordTransition(1, 'deleting', { reason: 'pulumi up deleted it' });
    expect(await records.recordFailure(1, 'hanging', { reason: 'still deleting after the 600 s timeout' })).toMatchObject({ status: 'hanging' });
    expect(await records.servers({ serverType: 'worker' })).toHaveLength(1);
  });
});

describe('the back-off of failed creates', () => {
  test('a second failure in a row pauses creates (backingOff, in every instance); counts asked for meanwhile wait in the desired count', async () => {
    const { records, events } = await open();
    const neighbour = await EngineRecords.openForEngine({ databaseUrl: database().url });
    opened.push(neighbour);
    const heardByNeighbour: DynamicServersEvents['backingOff'][] = [];
    neighbour.on('backingOff', (backoff) => heardByNeighbour.push(backoff));
    await recordsCoreOf(neighbour).eventsListening();

    await records.ensure('worker', 1);
    await started(records, 1);
    await records.recordFailure(1, 'hanging', { reason: 'still starting after the 1 s timeout' });
    await started(records, 2);
    const before = Date.now();
    await records.recordFailure(2, 'hanging', { reason: 'still starting after the 1 s timeout' });

    const backingOff = events.filter((event) => event.name === 'backingOff').map((event) => event.payload as DynamicServersEvents['backingOff']);
    expect(backingOff).toEqual([{ serverType: 'worker', failures: 2, pauseSeconds: 30, until: expect.any(Date) }]);
    expect(backingOff[0]!.until.getTime()).toBeGreaterThanOrEqual(before + 30_000);
    const state = await records.desiredState('worker');
    expect(state).toMatchObject({ desiredCount: 1, createFailures: 2, createsPausedUntil: backingOff[0]!.until });
    expect(await records.provisionedCount('worker')).toBe(0);

    expect(await records.replenish('worker')).toEqual({ serverType: 'worker', createdServerIds: [], missing: 1, createsPausedUntil: backingOff[0]!.until });
    const asked = await records.ensure('worker', 3);
    expect(asked).toMatchObject({ changed: true, before: 0, after: 0, desiredCount: 3, createdServerIds: [], version: state.version, createsPausedUntil: backingOff[0]!.until });
    expect(await records.decrease('worker')).toMatchObject({ desiredCount: 2, createdServerIds: [], stoppingServerIds: [] });
    expect(await records.servers({ serverType: 'worker', provisioned: true })).toEqual([]);

    // The pause runs out (moved into the past here rather than waited for): the servers waiting are created.
    await database().client.query(`update desired_state set creates_paused_until = now() - interval '1 second' where server_type = 'worker'`);
    const resumed = await records.replenish('worker');
    expect(resumed).toMatchObject({ createdServerIds: [3, 4], missing: 0, createsPausedUntil: null });

    // A third failure doubles the pause.
    await started(records, 3);
    await records.recordFailure(3, 'errored', { reason: 'the server disappeared from the cloud while starting', error: new Error('gone') });
    expect(events.filter((event) => event.name === 'backingOff').map((event) => (event.payload as DynamicServersEvents['backingOff']).pauseSeconds)).toEqual([30, 60]);
    await pollFor('the neighbour to hear two events', 5000, () => (heardByNeighbour.length === 2 ? true : undefined), 20);
    expect(heardByNeighbour.map((backoff) => [backoff.failures, backoff.until instanceof Date])).toEqual([
      [2, true],
      [3, true],
    ]);
  });

  test('a new server reaching running ends the back-off', async () => {
    const { records } = await open();
    await records.ensure('worker', 2);
    await started(records, 1);
    await started(records, 2);
    await records.recordFailure(1, 'hanging', { reason: 'still starting' });
    expect(await records.desiredState('worker')).toMatchObject({ createFailures: 1 });
    await records.recordTransition(2, 'running', { reason: 'the cloud reports it running' });
    expect(await records.desiredState('worker')).toMatchObject({ createFailures: 0, createsPausedUntil: null });
  });

  test('a new published version of the type (a fixed template) ends the back-off at once', async () => {
    const { records } = await open();
    await records.ensure('worker', 1);
    for (const id of [1, 2]) {
      await started(records, id);
      await records.recordFailure(id, 'hanging', { reason: 'still starting' });
    }
    expect((await records.desiredState('worker')).createsPausedUntil).not.toBeNull();
    await publishTypes(database().url, { ...TYPES, worker: { ...TYPES.worker!, template: { snapshot: 'fixed', size: 'small' } } });
    expect(await records.desiredState('worker')).toMatchObject({ createFailures: 0, createsPausedUntil: null });
    const resumed = await records.replenish('worker');
    expect(resumed.createdServerIds).toHaveLength(1);
    expect(await records.server(resumed.createdServerIds[0]!)).toMatchObject({ template: { snapshot: 'fixed', size: 'small' } });
  });
});

describe('drift', () => {
  test('a running server the cloud no longer has is recorded deleted with the reason, and replaced', async () => {
    const { records, events, wake } = await open();
    await records.ensure('worker', 2);
    await running(records, 1);
    await running(records, 2);
    events.length = 0;
    (await wake.settle()).length = 0;

    const gone = await records.recordGone(1, 'the local cloud no longer has it (deleted outside the engine)');
    expect(gone).toMatchObject({ id: 1, status: 'deleted', providerId: 'vm-1' });
    expect((await historyOf(records, 1)).at(-1)).toBe('running>deleted: the local cloud no longer has it (deleted outside the engine)');
    expect(events.map((event) => event.name)).toEqual(['deleted', 'creating']);
    expect(await records.provisionedCount('worker')).toBe(2);
    expect(await records.desiredState('worker')).toMatchObject({ desiredCount: 2, createFailures: 0 });
    expect(await wake.settle()).toEqual(['worker']);
  });

  test('a server the engine moved on meanwhile is left alone: nothing written', async () => {
    const { records } = await open();
    await records.ensure('worker', 1);
    await running(records, 1);
    await records.decrease('worker');
    const before = await database().checksums();
    expect(await records.recordGone(1, 'the local cloud no longer has it')).toBeNull();
    expect(await records.replaceStopped(1, 'the local cloud reports it off')).toBeNull();
    expect(await database().checksums()).toEqual(before);
  });

  test('a running server the cloud reports stopped is replaced: it goes to stopping, a new one is created', async () => {
    const { records, events } = await open();
    await records.ensure('worker', 1);
    await running(records, 1);
    events.length = 0;
    expect(await records.replaceStopped(1, 'the local cloud reports it off: replaced by a new server')).toMatchObject({ status: 'stopping' });
    expect(events.map((event) => event.name)).toEqual(['stopping', 'creating']);
    expect((await records.servers({ serverType: 'worker' })).map((server) => server.status)).toEqual(['stopping', 'new']);
  });
});

describe('delete', () => {
  test('by id or by name: the server goes to stopping with its history (drained first when the cloud has it); one that counted lowers the desired count', async () => {
    const { records, wake, events } = await open();
    await records.ensure('worker', 3);
    await running(records, 2);
    events.length = 0;
    (await wake.settle()).length = 0;

    expect(await records.delete(1)).toMatchObject({ server: { id: 1, status: 'stopping' }, changed: true, counted: true, desiredCount: 2 });
    expect(await records.delete(`worker-2-${records.installationId}`)).toMatchObject({ server: { id: 2, status: 'stopping', providerId: 'vm-2' }, changed: true, counted: true, desiredCount: 1 });
    // A name of digits only that no server has is read as an id (the command line passes text).
    expect(await records.delete('3')).toMatchObject({ server: { id: 3 }, counted: true, desiredCount: 0 });
    expect(await historyOf(records, 2)).toEqual(['null>new: ensure(worker, 3)', 'new>starting: pulumi up created it', 'starting>running: the cloud reports it running', 'running>draining: deleted on request', 'draining>stopping: drained at once: the type has no drain hook']);
    expect(events.map((event) => event.name)).toEqual(['stopping', 'draining', 'stopping', 'stopping']);
    expect(await wake.settle()).toEqual(['worker', 'worker', 'worker']);
    expect(await records.servers({ serverType: 'worker', status: 'new' })).toEqual([]);

    // Already on its way out: nothing written.
    const before = await database().checksums();
    expect(await records.delete(1)).toMatchObject({ server: { id: 1, status: 'stopping' }, changed: false, counted: false, desiredCount: 0 });
    expect(await database().checksums()).toEqual(before);
  });

  test('a kept hanging server no longer counted: deleting it changes no count and keeps its error', async () => {
    const { records } = await open();
    await records.ensure('kept', 1);
    await started(records, 1);
    await records.recordFailure(1, 'errored', { reason: 'the cloud refused to reboot it', error: new Error('refused') });
    expect(await records.delete(`kept-1-${records.installationId}`)).toMatchObject({ server: { status: 'stopping', lastError: { message: 'refused' } }, counted: false, desiredCount: 1 });
    expect(await records.provisionedCount('kept')).toBe(1);
  });
});
