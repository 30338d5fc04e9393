// How late the job layer notices a booted server: the lag between the local cloud reporting a server running
// (boot delay 5 s) and its row becoming `running`, median and maximum over 20 servers, beside the seed's
// 20-second polling interval. Runs one job worker in this process on an embedded PostgreSQL job store.
// Usage: node bench/detection.ts   (or npm run bench:detection)
import { startJobWorld, waitForStatus } from '../test/jobs/support/job-world.ts';

const SERVERS = 20;
const BOOT_MS = 5000;
const SEED_POLL_MS = 20_000;
const jobs = await startJobWorld({ cloud: { delays: { initializing: BOOT_MS, starting: 0, stopping: 100, rebooting: 100, deleting: 100 } } });
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

try {
  await jobs.records.ensure('demo', SERVERS);
  await waitForStatus(jobs.records, 'demo', 'running', SERVERS, 300_000);
  const cloudCreated = new Map(jobs.world.cloud.inspect().servers.map((server) => [String(server.id), new Date(server.createdAt).getTime()]));
  const lags: number[] = [];
  for (const row of await jobs.records.servers({ serverType: 'demo', status: 'running' })) {
    const running = (await jobs.records.statusHistory(row.id)).find((change) => change.to === 'running')!;
    lags.push(running.changedAt.getTime() - (cloudCreated.get(row.providerId!)! + BOOT_MS));
  }
  lags.sort((a, b) => a - b);
  const median = lags.length % 2 === 1 ? lags[(lags.length - 1) / 2]! : (lags[lags.length / 2 - 1]! + lags[lags.length / 2]!) / 2;
  console.log(`detection lag over ${lags.length} servers (boot delay ${seconds(BOOT_MS)}): median ${seconds(median)}, max ${seconds(lags.at(-1)!)}`);
  console.log(`seed: polls every ${seconds(SEED_POLL_MS)} (lag up to ${seconds(SEED_POLL_MS)}, ${seconds(SEED_POLL_MS / 2)} on average)`);
} finally {
  await jobs.close();
}
