// The pure parts of the records: victim choice, limit arithmetic, template hashes and option validation.
// (Server types and their limits are validated where they are written: test/config/stack-file.test.ts.)
import { describe, expect, test } from '@jest/globals';
import { DynamicServers, InvalidConfigurationError, VictimStrategyError, notRunningFirstThenNewest, rolloutBudget, type ServerRecord, type ServerStatus } from '../../src/api.ts';
import { fitUnderLimits } from '../../src/records/limits.ts';
import { templateHash } from '../../src/records/template.ts';
import { chooseVictims } from '../../src/records/victims.ts';

function server(id: number, status: ServerStatus): ServerRecord {
  const at = new Date(0);
  return {
    id, name: `worker-${id}`, serverType: 'worker', provider: 'local', status, statusUpdatedAt: at, providerId: null, addresses: {},
    template: {}, templateHash: templateHash({}), meta: {}, rebootRequestedAt: null, rebootSentAt: null,
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
