// Must-show 5 of issue 15: a provider token used by a worker appears in plain text nowhere the project writes: not
// in the worker's output, not under PULUMI_HOME, not in the project's or the engine's files, and not in any table of
// the database: the records, the job table (dynamic_servers_jobs) and Pulumi's state (the postgres:// backend, its
// blobs decoded). Shown for the local provider (servers created, deleted, one refused for capacity) and for hcloud
// against the Hetzner API simulator: the hcloud Pulumi plugin cannot run here, so its `up` fails for the missing
// plugin, while the API side lists and observes with the token (the request log shows it was sent) and the row runs.
import { afterEach, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { serverLabels } from '../../providers/contract.ts';
import { hcloudApiClient, hcloudCreateSpec, parseHcloudTemplate } from '../../providers/hcloud/index.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { pulumiStateBlobs, scanForSecret } from '../support/secrets-scan.ts';
import { startJobWorld, waitForStatus, type JobWorld } from './support/job-world.ts';

const worlds: JobWorld[] = [];
const workers: WorkerProcess[] = [];

/** Stops the test's worker and closes its world (also when the test failed). */
async function closeAll(): Promise<void> {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  for (const world of worlds.splice(0)) await world.close();
}

afterEach(closeAll);

async function until(what: string, timeoutMs: number, probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Scans everything a worker of `jobs` could have written, and prints what it looked at. */
async function scan(label: string, token: string, jobs: JobWorld, worker: WorkerProcess) {
  const report = await scanForSecret(token, {
    dirs: [jobs.world.workDir],
    texts: { 'worker output': [...worker.lines.map((line) => JSON.stringify(line)), ...worker.text].join('\n') },
    databaseUrl: jobs.world.database.url,
  });
  process.stdout.write(`${label} secrets scan: ${JSON.stringify({ files: report.files, tables: report.tables, bytes: report.bytes, hits: report.hits })}\n`);
  return report;
}

test('local provider: the token is nowhere in plain text after servers were created, refused and deleted by a worker', async () => {
  const token = randomBytes(32).toString('hex');
  const jobs = await startJobWorld({ token, backend: 'postgres', ownPulumiHome: true, inProcessWorker: false, cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } } });
  worlds.push(jobs);
  const worker = await startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '2']);
  workers.push(worker);

  await jobs.records.ensure('demo', 2);
  await waitForStatus(jobs.records, 'demo', 'running', 2);
  jobs.world.cloud.updateSettings({ capacity: 2 });
  // The third create is refused for capacity: errored, and (the default policy) replaced, which is refused too.
  await jobs.records.increase('demo');
  await until('a create refused for capacity', 120_000, async () => (await jobs.records.servers({ serverType: 'demo', status: 'errored' })).length > 0);
  jobs.world.cloud.updateSettings({ capacity: 100 });
  await jobs.records.ensure('demo', 1);
  await until('a server deleted by the worker', 120_000, async () => (await jobs.records.servers({ serverType: 'demo', status: 'deleted' })).length > 0);
  await waitForStatus(jobs.records, 'demo', 'running', 1);
  await worker.stop();

  // The token was used (the cloud refuses requests without it) and is stored, encrypted, in the state in PostgreSQL.
  expect(jobs.world.cloud.requests().filter((request) => request.token === 'default').length).toBeGreaterThan(0);
  expect(jobs.world.cloud.inspect().stats.unauthorized).toBe(0);
  const state = await pulumiStateBlobs(jobs.world.database.url, 'pulumi_state', '/.pulumi/stacks/dynamic-servers/demo.json');
  expect(state['engine_world/.pulumi/stacks/dynamic-servers/demo.json']).toMatch(/"token":\s*\{[^}]*"ciphertext"/);
  const [errored] = await jobs.records.servers({ serverType: 'demo', status: 'errored' });
  expect(errored?.lastError?.class).toBe('InsufficientCapacityError');

  const report = await scan('local', token, jobs, worker);
  expect(report.tables).toEqual(expect.arrayContaining(['dynamic_servers_jobs', 'pulumi_state', 'server', 'server_status_change']));
  expect(report.files).toBeGreaterThan(0);
  expect(report.hits).toEqual([]);
});

test('hcloud against the simulator: the up fails for the missing plugin, the API side lists and observes with the token, and the token is nowhere in plain text', async () => {
  const token = randomBytes(32).toString('hex');
  const jobs = await startJobWorld({ provider: 'hcloud', token, backend: 'postgres', ownPulumiHome: true, inProcessWorker: false, cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } } });
  worlds.push(jobs);
  const worker = await startWorkerProcess(jobs.world.cliEnv, ['--housekeeping-interval', '2']);
  workers.push(worker);
  const { cloud } = jobs.world;
  const installation = jobs.records.installationId;

  const { createdServerIds } = await jobs.records.ensure('demo', 1);
  const row = await jobs.records.server(createdServerIds[0]!);
  // The reconcile lists the type's servers by label (with the token) before its `up`, which fails: no hcloud plugin.
  await until('the reconcile to fail for the missing plugin', 120_000, () => worker.lines.some((line) => line.event === 'error' && /reconcile:demo/.test(String(line.context)) && /hcloud/.test(String(line.msg))));
  const failure = worker.lines.find((line) => line.event === 'error' && /reconcile:demo/.test(String(line.context)));
  process.stdout.write(`hcloud up without its plugin: ${String(failure?.msg).split('\n').find((text) => /plugin/i.test(text))?.trim()}\n`);
  expect(String(failure?.msg)).toMatch(/plugin/i);
  const listed = cloud.requests().filter((request) => request.method === 'GET' && request.path.startsWith('/v1/servers?') && request.path.includes(`installation%3D${installation}`));
  expect(listed.length).toBeGreaterThan(0);
  expect(listed.every((request) => request.token === 'default' && request.status === 200)).toBe(true);

  // As if the plugin had created the server: the simulator makes it, the row records its id; the worker's verify
  // observes it with the token until it runs.
  const client = hcloudApiClient({ endpoint: cloud.url, token });
  const template = parseHcloudTemplate(row.template);
  const server = await client.createServer(hcloudCreateSpec(row.name, serverLabels({ installation, serverType: 'demo', serverId: row.name }), template));
  await jobs.records.recordTransition(row.id, 'starting', { reason: 'test: as the hcloud plugin would have', providerId: server.providerId });
  await waitForStatus(jobs.records, 'demo', 'running', 1, 120_000);
  const observed = cloud.requests().filter((request) => request.method === 'GET' && request.path === `/v1/servers/${server.providerId}` && request.token === 'default');
  expect(observed.length).toBeGreaterThan(0);
  await worker.stop();

  expect(cloud.inspect().stats.unauthorized).toBe(0);
  const report = await scan('hcloud', token, jobs, worker);
  expect(report.tables).toEqual(expect.arrayContaining(['dynamic_servers_jobs', 'pulumi_state', 'server', 'server_status_change']));
  expect(report.hits).toEqual([]);
});
