// Must-show 1 of issue 15: two installations (two records databases, two state backends) share one local cloud,
// as staging and production may share a Hetzner project, with the same type name. Each ensures 3 with its worker
// killed mid-`up` (its whole process group), then 1. Each ends with exactly its own servers, and the cloud's request
// log, which names the API token of every request (one token per installation, as Hetzner projects can have several)
// and the servers each request named or was shown, has no request of one installation on the other's servers.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { RecordedRequest } from '../../src/local-cloud/inspection.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import { startKillRounds, type KillRounds, type RoundReport } from '../support/kill-rounds.ts';
import { startJobWorld, type JobWorld } from './support/job-world.ts';

const TOKENS = { a: 'token-of-installation-a', b: 'token-of-installation-b' };
let cloud: LocalCloud;
const installations: Record<'a' | 'b', { jobs: JobWorld; rounds: KillRounds }> = {} as never;

beforeAll(async () => {
  cloud = await startLocalCloud({ tokens: TOKENS, delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } });
  for (const name of ['a', 'b'] as const) {
    const jobs = await startJobWorld({ sharedCloud: cloud, token: TOKENS[name], inProcessWorker: false });
    installations[name] = { jobs, rounds: await startKillRounds({ jobs, serverType: 'demo', workers: 1 }) };
  }
}, 180_000);

afterAll(async () => {
  for (const installation of Object.values(installations)) {
    await installation.rounds.stop().catch(() => {});
    await installation.jobs.close();
  }
  await cloud?.stop();
});

test('two installations with the same type on one cloud: ensure 3 (killed mid-up) then 1 each; each keeps exactly its own servers and never touches the other’s', async () => {
  const { a, b } = installations;
  const ids = { a: a.jobs.records.installationId, b: b.jobs.records.installationId };
  expect(ids.a).not.toBe(ids.b);
  const reports: Record<string, RoundReport> = {};
  // Interleaved, so each installation's updates, adoptions and sweeps run while the other's servers exist.
  reports['a: ensure 3'] = await a.rounds.round(3);
  reports['b: ensure 3'] = await b.rounds.round(3);
  reports['a: ensure 1'] = await a.rounds.round(1, false);
  reports['b: ensure 1'] = await b.rounds.round(1, false);
  for (const [step, report] of Object.entries(reports)) {
    process.stdout.write(`${step}: killed ${report.killed || 'none'}; recovery: ${JSON.stringify(report.recoveries.map(({ staleLocks, adopted, leaksDeleted }) => ({ staleLocks: staleLocks.length, adopted, leaksDeleted })))}\n`);
  }

  // Each installation's rows name exactly the servers of the cloud that carry its id.
  const live = cloud.inspect().servers.filter((server) => server.status !== 'deleting');
  for (const name of ['a', 'b'] as const) {
    const running = await installations[name].jobs.records.servers({ serverType: 'demo', status: 'running' });
    expect(running).toHaveLength(1);
    expect(running[0]!.name).toMatch(new RegExp(`^demo-\\d+-${ids[name]}$`));
    const theirs = live.filter((server) => server.labels.installation === ids[name]);
    expect(theirs.map((server) => String(server.id))).toEqual(running.map((row) => row.providerId));
  }
  expect(live).toHaveLength(2);

  // Every server the log names belongs to an installation (its labels at the time, or when it was first seen).
  const requests = cloud.requests();
  const owner = new Map<number, string>();
  for (const request of requests) for (const server of request.servers) if (server.labels?.installation && !owner.has(server.id)) owner.set(server.id, server.labels.installation);
  const byToken = (token: string) => requests.filter((request) => request.token === token);
  const crossing = (token: 'a' | 'b', other: 'a' | 'b') =>
    byToken(token).filter((request: RecordedRequest) => request.servers.some((server) => (server.labels?.installation ?? owner.get(server.id)) === ids[other]));
  const unowned = requests.flatMap((request) => request.servers.filter((server) => !owner.has(server.id)).map((server) => server.id));
  const summary = {
    requests: { a: byToken('a').length, b: byToken('b').length, withoutToken: requests.filter((request) => request.token === undefined).length },
    serversNamed: { a: new Set(byToken('a').flatMap((request) => request.servers.map((server) => server.id))).size, b: new Set(byToken('b').flatMap((request) => request.servers.map((server) => server.id))).size },
    crossing: { aOnB: crossing('a', 'b').length, bOnA: crossing('b', 'a').length },
  };
  process.stdout.write(`request log: ${JSON.stringify(summary)}\n`);
  expect(unowned).toEqual([]);
  expect(summary.requests.withoutToken).toBe(0);
  expect(summary.serversNamed.a).toBeGreaterThanOrEqual(3);
  expect(summary.serversNamed.b).toBeGreaterThanOrEqual(3);
  expect(crossing('a', 'b').map((request) => `${request.method} ${request.path}`)).toEqual([]);
  expect(crossing('b', 'a').map((request) => `${request.method} ${request.path}`)).toEqual([]);
  // Both kills were recovered from: the stale lock cancelled, and exactly the servers the killed update had made
  // adopted (the one whose answer was lost, and any other create that got through before the creates were held: the
  // state is written only when an update ends).
  for (const step of ['a: ensure 3', 'b: ensure 3']) {
    const report = reports[step]!;
    expect(report.madeByKilledUpdate.length).toBeGreaterThanOrEqual(1);
    expect({
      step,
      locks: report.recoveries.flatMap((line) => line.staleLocks).length,
      adopted: report.recoveries.flatMap((line) => line.adopted.map((server) => server.providerId)).sort(),
    }).toEqual({ step, locks: 1, adopted: [...report.madeByKilledUpdate].sort() });
  }
}, 900_000);
