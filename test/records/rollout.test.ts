// Rollout steps and drains in the records, on a real embedded PostgreSQL: replacements are created within maxSurge
// and count only once they run (then the server they replace drains), a count change takes a replacement along with
// the server it replaces, maxUnavailable drains old servers first and replacements wait for room, a failed
// replacement halts the rollout until it is resumed, a pause holds it; drains are claimed by one caller, extended up
// to the cap, and end as the type's policy says.
import { describe, expect, jest, test } from '@jest/globals';
import type { CountChange, DynamicServersEventName, DynamicServersEvents, RolloutPolicy, ServerRecord } from '../../src/api.ts';
import { recordsCoreOf } from '../../src/records/dynamic-servers.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import type { VictimStrategy } from '../../src/records/victims.ts';
import { publishTypes, WakeRecorder, type TestServerType } from '../support/published-types.ts';
import { byPlace, placesOf } from './support/compare-changes.ts';
import { useRecordsDatabase, walk } from './support/records-database.ts';

const { database, opened } = useRecordsDatabase('records_rollout');

const A = { snapshot: 'a', size: 'small' };
const B = { snapshot: 'b', size: 'small' };
const SURGE: RolloutPolicy = { strategy: 'replace', maxSurge: 1, maxUnavailable: 0 };

type HeardEvent = { name: DynamicServersEventName; payload: DynamicServersEvents[DynamicServersEventName] };

/** Publishes `worker` with `template` and `type`'s settings; opens records (with `victimStrategy`) and a wake recorder. */
async function open(type: Partial<TestServerType>, victimStrategy?: VictimStrategy) {
  await publishTypes(database().url, { worker: { provider: 'local', template: A, ...type } });
  const wake = await WakeRecorder.start(database().url);
  opened.push({ close: () => wake.stop() });
  const records = await EngineRecords.openForEngine({ databaseUrl: database().url, ...(victimStrategy ? { victimStrategy } : {}) });
  opened.push(records);
  const events: HeardEvent[] = [];
  for (const name of ['creating', 'draining', 'stopping', 'errored', 'hanging', 'rolloutHalted'] as const) records.on(name, (payload) => events.push({ name, payload }));
  return { records, wake, events };
}

/** `count` servers of `worker` running with cloud ids (made from the published template). */
async function runningFleet(records: EngineRecords, count: number): Promise<ServerRecord[]> {
  const { createdServerIds } = await records.ensure('worker', count);
  for (const id of createdServerIds) await records.recordTransition(id, 'starting', { reason: 'pulumi up created it', providerId: `vm-${id}` });
  for (const id of createdServerIds) await records.recordTransition(id, 'running', { reason: 'the cloud reports it running' });
  return records.servers({ serverType: 'worker', status: 'running' });
}

/** Walks server `id` (new) to running, as the engine would. */
async function boot(records: EngineRecords, id: number): Promise<void> {
  await records.recordTransition(id, 'starting', { reason: 'pulumi up created it', providerId: `vm-${id}` });
  await records.recordTransition(id, 'running', { reason: 'the cloud reports it running' });
}

/** The default name of server `id` of `worker`: `<type>-<id>-<installation>`. */
function nameOf(records: EngineRecords, id: number): string {
  return `worker-${id}-${records.installationId}`;
}

/** Status of each server, by id. */
async function statuses(records: EngineRecords): Promise<Record<number, string>> {
  return Object.fromEntries((await records.servers({ serverType: 'worker' })).map((server) => [server.id, server.status]));
}

describe('maxSurge 1, maxUnavailable 0', () => {
  test('a replacement is created first, does not count until it runs, then the server it replaces drains; the next waits for room in the cloud', async () => {
    const { records, wake, events } = await open({ rollout: SURGE });
    const [o1, o2, o3] = await runningFleet(records, 3);
    expect(await records.advanceRollout('worker')).toMatchObject({ createdServerIds: [], replacements: [] });

    await publishTypes(database().url, { worker: { provider: 'local', template: B, rollout: SURGE } });
    (await wake.settle()).length = 0;
    events.length = 0;
    const step = await records.advanceRollout('worker');
    expect(step).toMatchObject({ createdServerIds: [], replacements: [{ serverId: 4, replaces: o1!.id }] });
    const r1 = await records.server(4);
    expect(r1).toMatchObject({ status: 'new', replacesServerId: o1!.id, template: B });
    expect((await records.statusHistory(4))[0]!.reason).toMatch(new RegExp(`^rollout to template [0-9a-f]{12}: replaces ${nameOf(records, o1!.id)}$`));
    expect(await wake.settle()).toEqual(['worker']);
    // 3 desired + 1 surge = 4 in the cloud: no room for another; the replacement does not count.
    expect(await records.advanceRollout('worker')).toMatchObject({ replacements: [] });
    expect(await records.ensure('worker', 3)).toMatchObject({ changed: false, before: 3, after: 3 });
    expect(await records.rollout('worker')).toMatchObject({ state: 'rolling', old: 3, new: 0, replacing: 1, draining: 0 });

    await boot(records, 4);
    expect(await statuses(records)).toEqual({ [o1!.id]: 'stopping', [o2!.id]: 'running', [o3!.id]: 'running', 4: 'running' });
    expect((await records.statusHistory(o1!.id)).slice(-2).map((change) => `${change.to}: ${change.reason}`)).toEqual([
      `draining: rollout: replaced by ${nameOf(records, 4)}, which runs`,
      'stopping: drained at once: the type has no drain hook',
    ]);
    expect(await records.rollout('worker')).toMatchObject({ state: 'rolling', old: 2, new: 1, replacing: 0 });
    // The old server is still in the cloud until it is deleted: no room yet.
    expect(await records.advanceRollout('worker')).toMatchObject({ replacements: [] });
    await walk(records, o1!.id, 'deleting', 'deleted');
    expect(await records.advanceRollout('worker')).toMatchObject({ replacements: [{ serverId: 5, replaces: o2!.id }] });
    expect(events.filter((event) => event.name === 'rolloutHalted')).toEqual([]);
  });

  test('a count change that takes an old server away takes its replacement along; the pair counted once', async () => {
    // The strategy is async and picks the oldest: the server being replaced.
    const oldestFirst: VictimStrategy = async (candidates, count) => candidates.slice(0, count);
    const { records } = await open({ rollout: SURGE }, oldestFirst);
    const [o1] = await runningFleet(records, 3);
    await publishTypes(database().url, { worker: { provider: 'local', template: B, rollout: SURGE } });
    await records.advanceRollout('worker');
    await records.recordTransition(4, 'starting', { reason: 'pulumi up created it', providerId: 'vm-4' });

    const change = await records.decrease('worker', 1);
    expect(change).toMatchObject({ before: 3, after: 2, desiredCount: 2, stoppingServerIds: [o1!.id, 4] });
    expect(await statuses(records)).toEqual({ [o1!.id]: 'stopping', 2: 'running', 3: 'running', 4: 'stopping' });
    expect(await records.provisionedCount('worker')).toBe(2);
  });
});

test('maxSurge 0, maxUnavailable 1: an old server drains first, and what the count misses is made from the new template once the old one is gone', async () => {
  const policy: RolloutPolicy = { strategy: 'replace', maxSurge: 0, maxUnavailable: 1 };
  const { records } = await open({ rollout: policy });
  const [o1, o2] = await runningFleet(records, 2);
  await publishTypes(database().url, { worker: { provider: 'local', template: B, rollout: policy } });

  expect(await records.advanceRollout('worker')).toMatchObject({ createdServerIds: [], replacements: [], plan: { drains: [expect.objectContaining({ id: o1!.id })] } });
  expect(await statuses(records)).toEqual({ [o1!.id]: 'stopping', [o2!.id]: 'running' });
  // One counts, two are desired, but the cloud still has two: neither the rollout nor a replenishment creates now.
  expect(await records.replenish('worker')).toMatchObject({ createdServerIds: [], missing: 1 });
  expect(await records.advanceRollout('worker')).toMatchObject({ createdServerIds: [], replacements: [], plan: { drains: [] } });

  await walk(records, o1!.id, 'deleting', 'deleted');
  expect(await records.advanceRollout('worker')).toMatchObject({ createdServerIds: [3], plan: { drains: [] } });
  expect(await records.server(3)).toMatchObject({ template: B, replacesServerId: null });
  // The old one waits until the new one runs: one running is all maxUnavailable 1 leaves.
  expect(await records.advanceRollout('worker')).toMatchObject({ createdServerIds: [], plan: { drains: [] } });
  await boot(records, 3);
  expect(await records.advanceRollout('worker')).toMatchObject({ plan: { drains: [expect.objectContaining({ id: o2!.id })] } });
  expect(await records.rollout('worker')).toMatchObject({ old: 0, new: 1, state: 'done', budget: { maxSurge: 0, maxUnavailable: 1 } });
});

test('a replacement that fails halts the rollout (once, with why) and keeps the old servers; a pause holds it too; resume lets it go on', async () => {
  const { records, wake, events } = await open({ rollout: SURGE });
  await runningFleet(records, 2);
  await publishTypes(database().url, { worker: { provider: 'local', template: B, rollout: SURGE } });
  await records.advanceRollout('worker');
  await records.recordTransition(3, 'starting', { reason: 'pulumi up created it', providerId: 'vm-3' });
  events.length = 0;

  await records.recordFailure(3, 'hanging', { reason: 'still starting after the 1 s timeout' });
  const failed = nameOf(records, 3);
  const halt = { serverType: 'worker', serverName: failed, reason: `${failed} went hanging while starting: still starting after the 1 s timeout`, at: expect.any(Date) };
  expect(events.map((event) => event.name)).toEqual(['hanging', 'draining', 'stopping', 'rolloutHalted']);
  expect(events.at(-1)!.payload).toEqual(halt);
  expect(await statuses(records)).toEqual({ 1: 'running', 2: 'running', 3: 'stopping' });
  await walk(records, 3, 'deleting', 'deleted');
  expect(await records.advanceRollout('worker')).toMatchObject({ createdServerIds: [], replacements: [] });
  expect(await records.rollout('worker')).toMatchObject({ state: 'halted', old: 2, new: 0, halted: halt });

  // Resuming clears the halt and wakes the workers; pausing holds the rollout without halting it.
  (await wake.settle()).length = 0;
  expect(await records.pauseRollout('worker')).toMatchObject({ state: 'halted', paused: true });
  expect(await records.resumeRollout('worker')).toMatchObject({ state: 'rolling', paused: false, halted: null });
  expect(await wake.settle()).toEqual(['worker']);
  await records.pauseRollout('worker');
  expect(await records.advanceRollout('worker')).toMatchObject({ replacements: [] });
  expect(await records.rollout('worker')).toMatchObject({ state: 'paused', paused: true });
  await records.resumeRollout('worker');
  expect(await records.advanceRollout('worker')).toMatchObject({ replacements: [{ serverId: 4, replaces: 1 }] });
});

describe('drains', () => {
  const HOOKED: Partial<TestServerType> = { drain: { hook: 'drain.mjs', timeoutSeconds: 10, maxSeconds: 30 } };

  test('one caller claims a drain; a deadline is pushed back up to the cap and never earlier; a drain ends once, and a deadline that has not passed ends nothing', async () => {
    const { records } = await open(HOOKED);
    const [server] = await runningFleet(records, 1);
    await records.decrease('worker', 1);
    const draining = await records.server(server!.id);
    expect(draining.status).toBe('draining');
    const since = draining.statusUpdatedAt;
    expect(draining.drainDeadline!.getTime() - since.getTime()).toBe(10_000);

    expect(await Promise.all([records.claimDrain(server!.id), records.claimDrain(server!.id), records.claimDrain(server!.id)])).toEqual(expect.arrayContaining([true, false, false]));
    expect((await records.extendDrain(server!.id, 3600)).getTime() - since.getTime()).toBe(30_000);
    expect((await records.extendDrain(server!.id, 1)).getTime() - since.getTime()).toBe(30_000);
    expect(await records.endDrain(server!.id, { kind: 'deadline' }, since)).toBeNull();
    expect(await records.releaseDrainClaims([server!.id])).toEqual([server!.id]);
    expect(await records.claimDrain(server!.id)).toBe(true);

    expect(await records.endDrain(server!.id, { kind: 'drained', how: 'the drain hook returned' }, since)).toMatchObject({ status: 'stopping', drainDeadline: null, drainClaimedAt: null });
    expect(await records.endDrain(server!.id, { kind: 'drained', how: 'the drain hook returned' }, since)).toBeNull();
    await expect(records.extendDrain(server!.id, 10)).rejects.toThrow(/its drain has ended/);
  });

  test('keep: a failed hook leaves the server errored with the error (secrets scrubbed), a passed deadline leaves it hanging; a person deletes them without a second drain', async () => {
    await publishTypes(database().url, { worker: { provider: 'local', template: A, undrainedServers: 'keep', ...HOOKED } });
    const records = await EngineRecords.openForEngine({ databaseUrl: database().url, scrubText: (text) => text.replaceAll('s3cret', '[redacted]') });
    opened.push(records);
    const [first, second] = await runningFleet(records, 2);
    await records.decrease('worker', 2);
    const [a, b] = [await records.server(first!.id), await records.server(second!.id)];
    const failed = await records.endDrain(a.id, { kind: 'failed', error: { class: 'QueueError', message: 'token s3cret refused', stack: null } }, a.statusUpdatedAt);
    expect(failed).toMatchObject({ status: 'errored', providerId: a.providerId, lastError: { class: 'QueueError', message: 'token [redacted] refused' } });
    await database().client.query(`update "server" set "drain_deadline" = now() - interval '1 second' where "id" = $1`, [b.id]);
    expect(await records.endDrain(b.id, { kind: 'deadline' }, b.statusUpdatedAt)).toMatchObject({ status: 'hanging', providerId: b.providerId });
    expect(await records.delete(a.id)).toMatchObject({ server: { status: 'stopping' }, counted: false });
    expect((await records.statusHistory(a.id)).map((change) => change.to).slice(-3)).toEqual(['draining', 'errored', 'stopping']);
  });
});

test('count changes made at once while replacements are on their way end as the same changes made one after the other', async () => {
  // Two types in the same state, each with a replacement on its way for its oldest server; the strategy takes the
  // oldest, so a decrease takes a replaced server and its replacement along.
  const oldestFirst: VictimStrategy = (candidates, count) => candidates.slice(0, count);
  const types = { together: { provider: 'local', template: A, rollout: SURGE }, alone: { provider: 'local', template: A, rollout: SURGE } };
  await publishTypes(database().url, types);
  const records = await EngineRecords.openForEngine({ databaseUrl: database().url, victimStrategy: oldestFirst });
  opened.push(records);
  for (const type of Object.keys(types)) {
    const { createdServerIds } = await records.ensure(type, 3);
    for (const id of createdServerIds) await boot(records, id);
  }
  await publishTypes(database().url, { together: { ...types.together, template: B }, alone: { ...types.alone, template: B } });
  for (const type of Object.keys(types)) expect(await records.advanceRollout(type)).toMatchObject({ replacements: [expect.anything()] });
  const calls: ((type: string) => Promise<CountChange>)[] = [
    (type) => records.ensure(type, 3),
    (type) => records.increase(type, 1),
    (type) => records.decrease(type, 2),
    (type) => records.ensure(type, 5),
    (type) => records.decrease(type, 3),
    (type) => records.increase(type, 2),
    (type) => records.ensure(type, 1),
  ];
  // Once the types' names are known again (a publication clears what the instance knew), calls reach their type's
  // queue in the order they are made.
  await Promise.all(Object.keys(types).map((type) => records.desiredState(type)));
  const core = recordsCoreOf(records);
  const together = jest.spyOn(core, 'commitTogether');
  const alone = jest.spyOn(core, 'commit');

  const atOnce = await Promise.all(calls.map((call) => call('together')));
  const oneByOne: CountChange[] = [];
  for (const call of calls) oneByOne.push(await call('alone'));

  // The first ran alone, the others in one turn, committed once: no turn ran its changes again one by one.
  expect(together.mock.calls.map(([runs]) => runs.length)).toEqual([calls.length - 1]);
  expect(alone.mock.calls.length).toBe(1 + calls.length);
  const places = async (type: string) => {
    const servers = (await records.servers({ serverType: type })).toSorted((a, b) => a.id - b.id);
    const place = placesOf(servers.map((server) => server.id));
    return { place, rows: servers.map((server) => [server.status, server.replacesServerId === null ? null : place.get(server.replacesServerId)]) };
  };
  const [ofTogether, ofAlone] = [await places('together'), await places('alone')];
  expect(atOnce.map((change) => byPlace(change, ofTogether.place))).toEqual(oneByOne.map((change) => byPlace(change, ofAlone.place)));
  // The decrease of 2 took the replaced server, its replacement and the next oldest.
  expect(oneByOne[2]!.stoppingServerIds).toHaveLength(3);
  expect(ofTogether.rows).toEqual(ofAlone.rows);
});
