// The pure parts of the records: victim choice, limit arithmetic, template hashes and option validation.
// (Server types and their limits are validated where they are written: test/config/stack-file.test.ts.)
import { describe, expect, test } from '@jest/globals';
import {
  DynamicServers,
  InvalidConfigurationError,
  SERVER_NAME_PATTERN,
  VictimStrategyError,
  endOfPaidHourFirst,
  notRunningFirstThenNewest,
  rolloutBudget,
  typeAndIdName,
  typeIdAndInstallationName,
  type ServerRecord,
  type ServerStatus,
} from '../../src/api.ts';
import { encodedOriginPrefix, encodeEvent } from '../../src/records/event-feed.ts';
import { fitUnderLimits } from '../../src/records/limits.ts';
import { templateHash } from '../../src/records/template.ts';
import { chooseVictims } from '../../src/records/victims.ts';

function server(id: number, status: ServerStatus): ServerRecord {
  const at = new Date(0);
  return {
    id, name: `worker-${id}`, serverType: 'worker', provider: 'local', status, statusUpdatedAt: at, providerId: null, addresses: {},
    template: {}, templateHash: templateHash({}), meta: {}, rebootRequestedAt: null, rebootSentAt: null, offering: null, hourlyPrice: null,
    drainDeadline: null, drainClaimedAt: null, replacesServerId: null, lastError: null, createdAt: at, updatedAt: at,
  };
}

test('a rollout budget: counts as given, maxSurge percentages rounded up, maxUnavailable ones down, and never both 0', () => {
  const replace = (maxSurge: number | `${number}%`, maxUnavailable: number | `${number}%`) => ({ strategy: 'replace' as const, maxSurge, maxUnavailable });
  expect(rolloutBudget(replace(2, 1), 10)).toEqual({ maxSurge: 2, maxUnavailable: 1 });
  expect(rolloutBudget(replace('25%', '25%'), 10)).toEqual({ maxSurge: 3, maxUnavailable: 2 });
  expect(rolloutBudget(replace('100%', '0%'), 4)).toEqual({ maxSurge: 4, maxUnavailable: 0 });
  expect(rolloutBudget(replace('0%', '10%'), 4)).toEqual({ maxSurge: 1, maxUnavailable: 0 });
  expect(rolloutBudget(replace(0, '50%'), 4)).toEqual({ maxSurge: 0, maxUnavailable: 2 });
});

describe('victims', () => {
  const candidates = [server(1, 'running'), server(2, 'new'), server(3, 'rebooting'), server(4, 'starting'), server(5, 'running'), server(6, 'new')];

  test('the default strategy stops new servers, then starting ones, then the newest of those that ran', async () => {
    expect((notRunningFirstThenNewest(candidates, 6) as ServerRecord[]).map((victim) => victim.id)).toEqual([6, 2, 4, 5, 3, 1]);
    expect((await chooseVictims(notRunningFirstThenNewest, candidates, 4)).map((victim) => victim.id)).toEqual([2, 4, 5, 6]);
  });

  test('a strategy must return exactly the requested number of distinct candidates', async () => {
    await expect(chooseVictims(() => [candidates[0]!], candidates, 2)).rejects.toThrow(VictimStrategyError);
    await expect(chooseVictims(() => [candidates[0]!, candidates[0]!], candidates, 2)).rejects.toThrow(VictimStrategyError);
    await expect(chooseVictims(() => [candidates[0]!, server(99, 'running')], candidates, 2)).rejects.toThrow(VictimStrategyError);
    await expect(chooseVictims(() => 'nonsense' as unknown as ServerRecord[], candidates, 1)).rejects.toThrow(VictimStrategyError);
  });

  test('by the paid hour: servers that never ran first, then those whose started hour ends soonest', async () => {
    const now = new Date('2026-01-01T12:00:00Z');
    const createdMinutesAgo = (id: number, status: ServerStatus, minutes: number) => ({ ...server(id, status), createdAt: new Date(now.getTime() - minutes * 60_000) });
    const fleet = [
      createdMinutesAgo(1, 'running', 10), // 50 minutes of its hour left
      createdMinutesAgo(2, 'running', 115), // second hour, 5 minutes left
      createdMinutesAgo(3, 'starting', 1),
      createdMinutesAgo(4, 'running', 55), // 5 minutes left: a tie with 2, the newest goes first
      createdMinutesAgo(5, 'rebooting', 30), // 30 minutes left
    ];
    expect((await endOfPaidHourFirst(() => now)(fleet, 5)).map((victim) => victim.id)).toEqual([3, 4, 2, 5, 1]);
  });

  test('an async strategy is awaited, and what it resolves to is checked like any answer', async () => {
    const leastBusy = async (offered: readonly ServerRecord[], count: number) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return [...offered].sort((a, b) => Number(a.meta.jobs ?? 0) - Number(b.meta.jobs ?? 0)).slice(0, count);
    };
    const busy = candidates.map((candidate) => ({ ...candidate, meta: { jobs: 10 - candidate.id } }));
    expect((await chooseVictims(leastBusy, busy, 2)).map((victim) => victim.id)).toEqual([5, 6]);
    await expect(chooseVictims(async () => [busy[0]!], busy, 2)).rejects.toThrow(VictimStrategyError);
  });
});

describe('limits', () => {
  const subject = { serverType: 'worker', provider: 'local' };

  test('everything fits without limits or with room', () => {
    expect(fitUnderLimits(5, [], subject)).toEqual({ allowed: 5, hit: null });
    expect(fitUnderLimits(2, [{ scope: 'serverType', maximum: 4, provisioned: 2 }], subject)).toEqual({ allowed: 2, hit: null });
  });

  test('the tightest limit cuts the request; the type wins a tie; a count already over a limit leaves no room', () => {
    const limits = [{ scope: 'serverType', maximum: 10, provisioned: 7 }, { scope: 'provider', maximum: 12, provisioned: 10 }] as const;
    expect(fitUnderLimits(5, limits, subject)).toEqual({ allowed: 2, hit: { ...subject, scope: 'provider', maximum: 12, provisioned: 10, requested: 5, allowed: 2 } });
    const tie = [{ scope: 'serverType', maximum: 4, provisioned: 3 }, { scope: 'provider', maximum: 6, provisioned: 5 }] as const;
    expect(fitUnderLimits(3, tie, subject).hit?.scope).toBe('serverType');
    expect(fitUnderLimits(1, [{ scope: 'serverType', maximum: 2, provisioned: 5 }], subject).allowed).toBe(0);
  });
});

describe('templates and options', () => {
  test('equal templates hash equally whatever their key order; different ones differently', () => {
    expect(templateHash({ a: 1, b: { c: [1, 2], d: null } })).toBe(templateHash({ b: { d: null, c: [1, 2] }, a: 1 }));
    expect(templateHash({ a: 1, b: { c: [2, 1] } })).not.toBe(templateHash({ a: 1, b: { c: [1, 2] } }));
    expect(templateHash({})).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('open refuses bad options before connecting anywhere', async () => {
    const unreachable = 'postgres://nobody@127.0.0.1:1/none';
    const refused = [
      { databaseUrl: '' },
      { databaseUrl: unreachable, poolSize: 0 },
      { databaseUrl: unreachable, onLimitHit: 'ignore' },
      { databaseUrl: unreachable, victimStrategy: 'oldest' },
      { databaseUrl: unreachable, serverTypes: { worker: { provider: 'local' } } },
      { databaseUrl: unreachable, providers: { local: { maximum: 3 } } },
    ];
    for (const options of refused) await expect(DynamicServers.open(options as never)).rejects.toBeInstanceOf(InvalidConfigurationError);
  });
});

describe('server names', () => {
  test('the default name ends with the installation id, so installations sharing a cloud project never repeat a name', () => {
    const context = { id: 42, serverType: 'worker', provider: 'hcloud', installation: '3f9a0c1d' };
    expect(typeIdAndInstallationName(context)).toBe('worker-42-3f9a0c1d');
    expect(typeIdAndInstallationName({ ...context, installation: '77aa01bc' })).not.toBe(typeIdAndInstallationName(context));
    expect(typeAndIdName(context)).toBe('worker-42');
  });

  test('a type name too long for a DNS label is shortened from its end; the name stays a valid, unique label', () => {
    const long = `${'a'.repeat(40)}-${'b'.repeat(22)}`;
    const names = [1, 2, 123_456_789].map((id) => typeIdAndInstallationName({ id, serverType: long, provider: 'local', installation: '3f9a0c1d' }));
    for (const name of names) expect(name).toMatch(SERVER_NAME_PATTERN);
    expect(names[2]).toBe(`${'a'.repeat(40)}-${'b'.repeat(3)}-123456789-3f9a0c1d`);
    expect(new Set(names).size).toBe(3);
  });
});

test('every notification text an instance makes begins with its origin prefix, so its own feed passes over it', () => {
  const origin = 'a"b\\c';
  const small = { ...server(1, 'running'), lastError: { class: 'Error', message: 'no', stack: 'at x' } };
  const stackTooLarge = { ...small, lastError: { ...small.lastError, stack: 'x'.repeat(9000) } };
  const recordTooLarge = { ...small, meta: { note: 'y'.repeat(9000) } };
  const texts = [small, stackTooLarge, recordTooLarge].map((record) => encodeEvent(origin, { name: 'running', payload: { server: record, from: 'starting', reason: 'r' } }));
  // The three forms: the whole event, the event without the error's stack, a reference.
  expect(texts.map((text) => Object.keys(JSON.parse(text) as object))).toEqual([['origin', 'event'], ['origin', 'event'], ['origin', 'reference']]);
  for (const text of texts) {
    expect(text.startsWith(encodedOriginPrefix(origin))).toBe(true);
    expect(text.startsWith(encodedOriginPrefix('another'))).toBe(false);
  }
});
