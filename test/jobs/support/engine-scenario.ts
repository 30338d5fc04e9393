// The engine suite's scenario, for any job store: ensure 3 gives three running servers, ensure 1 deletes two.
import { expect } from '@jest/globals';
import { waitForStatus, type JobWorld } from './job-world.ts';

/** Runs the scenario on `jobs` (whose worker does all the work) and checks rows, history and cloud. */
export async function ensureThreeThenOne(jobs: JobWorld): Promise<void> {
  await jobs.records.ensure('demo', 3);
  await waitForStatus(jobs.records, 'demo', 'running', 3);
  const running = await jobs.records.servers({ serverType: 'demo', status: 'running' });
  const cloud = () => jobs.world.cloud.inspect().servers.filter((server) => server.status !== 'deleting');
  expect(running.map((row) => row.providerId).sort()).toEqual(cloud().map((server) => String(server.id)).sort());

  await jobs.records.ensure('demo', 1);
  await waitForStatus(jobs.records, 'demo', 'deleted', 2);
  const remaining = await jobs.records.servers({ serverType: 'demo', status: 'running' });
  expect(remaining).toHaveLength(1);
  expect(jobs.world.cloud.inspect().servers.map((server) => server.id)).toEqual([Number(remaining[0]!.providerId)]);
  for (const row of await jobs.records.servers({ serverType: 'demo', status: 'deleted' })) {
    expect((await jobs.records.statusHistory(row.id)).map((change) => change.to)).toEqual(['new', 'starting', 'running', 'draining', 'stopping', 'deleting', 'deleted']);
  }
  expect(await jobs.records.desiredState('demo')).toMatchObject({ workRemains: false });
}
