// The package as people install it, in a project of their own. `npm pack` makes the tarball (its file list and size
// printed); a project in a temp dir that sees only the tarball (its own node_modules from `npm install <tarball>`,
// commands run by a shell whose first Node is the machine's own and whose PATH and environment hold nothing of the
// checkout) is made by `npx dynamic-servers init`, validated, worked by a worker on the local cloud, and asked for
// servers by a .mjs and a .ts script on the project's own Node; `tsc` checks its scripts against the package's
// declarations. A provider package (test/fixtures/provider-package, its own package.json) installed there passes
// the exported conformance suite and runs through `up`. Then, between two reconciles, the project moves to another
// directory and the package is upgraded to a re-packed 0.1.1: the next `decrease` deletes the servers the old copy
// created, and the state names no path of the checkout or of the old directory. Last, `npx dynamic-servers demo`
// runs there. Takes minutes (two installs).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/database.ts';
import { INSTALLED_STACK_PROGRAM } from '../../src/init/project-files.ts';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import { PACKAGE_ROOT } from '../../src/package-layout.ts';
import { DynamicServers } from '../../src/records/dynamic-servers.ts';
import { runCommand, type CommandResult } from '../../src/toolchain/run-command.ts';
import { pathWithMachineNodeFirst } from '../support/machine-node.ts';
import { tempDir } from '../support/temp-dir.ts';

const CHECKOUT = PACKAGE_ROOT;
const FIXTURE = join(CHECKOUT, 'test', 'fixtures', 'provider-package');
const PINNED_NODE = (JSON.parse(await readFile(join(CHECKOUT, 'package.json'), 'utf8')) as { devDependencies: { node: string } }).devDependencies.node;
const LONG = 15 * 60_000;

let work: Awaited<ReturnType<typeof tempDir>>;
let tarballs: string;
let tarball: string;
/** The project before and after the move: at the same depth, so relative `file:` specs stay valid. */
let consumer: string;
let moved: string;
let database: EmbeddedDatabase;
let cloud: LocalCloud;
let worker: WorkerProcess | undefined;
let records: DynamicServers;
/** The npx cache entries `init` made (npx keeps a whole install per package list, about 500 MB): removed at the end. */
let npxEntries: string[] = [];

/** Seconds since `started`, for the printed timings. */
const since = (started: number) => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const say = (text: string) => process.stdout.write(`${text}\n`);

/**
 * A user's shell: the machine's Node first on PATH, nothing under the checkout on it, and nothing else of this
 * process's environment but the caches (npm's, and the engine's) and what `extra` adds.
 */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const path = pathWithMachineNodeFirst()
    .split(delimiter)
    .filter((dir) => !dir.startsWith(CHECKOUT))
    .join(delimiter);
  const kept = ['HOME', 'USER', 'LANG', 'TMPDIR', 'DYNAMIC_SERVERS_CACHE', 'XDG_CACHE_HOME', 'npm_config_cache', 'npm_config_registry'];
  return { ...Object.fromEntries(kept.filter((key) => process.env[key] !== undefined).map((key) => [key, process.env[key]])), PATH: path, ...extra };
}

/** The deployment's settings, as its operator would export them. */
function deploymentEnv(): NodeJS.ProcessEnv {
  return userEnv({ DATABASE_URL: database.url, PULUMI_CONFIG_PASSPHRASE: 'package-test-passphrase', LOCAL_CLOUD_ENDPOINT: cloud.url, TINY_CLOUD_ENDPOINT: cloud.url });
}

/** Runs `command` in `cwd`; fails the test with its output unless it exits 0. */
async function run(cwd: string, command: string, args: string[], env: NodeJS.ProcessEnv = userEnv()): Promise<CommandResult> {
  const result = await runCommand(command, args, { cwd, env });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} in ${cwd} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** The entries of npm's npx cache that installed `spec`. */
async function npxEntriesOf(spec: string): Promise<string[]> {
  const npxDir = join((await run(work.path, 'npm', ['config', 'get', 'cache'])).stdout.trim(), '_npx');
  const entries: string[] = [];
  for (const entry of await readdir(npxDir).catch(() => [] as string[])) {
    const manifest = await readFile(join(npxDir, entry, 'package.json'), 'utf8').catch(() => '');
    if (manifest.includes(spec)) entries.push(join(npxDir, entry));
  }
  return entries;
}

/** The project's own Node (from the `node` package init adds), which runs its scripts. */
const projectNode = (project: string) => join(project, 'node_modules', '.bin', 'node');

/** The local cloud's servers of `serverType` that are not gone, by status. */
function cloudServers(serverType: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const server of cloud.inspect().servers.filter((candidate) => candidate.labels['server-type'] === serverType)) counts[server.status] = (counts[server.status] ?? 0) + 1;
  return counts;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every file under `dir` whose text contains `needle`, relative to `dir`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path, 'latin1')).includes(needle)) found.push(path.slice(dir.length + 1));
  }
  return found;
}

/** The scripts of the project: ensure(type, n), then wait until n run and none is on its way. */
const ENSURE_MJS = `import { DynamicServers } from 'dynamic-servers';

const [type = 'local-worker', wanted = '2'] = process.argv.slice(2);
const count = Number(wanted);
const servers = await DynamicServers.open({ databaseUrl: process.env.DATABASE_URL ?? '' });
try {
  await servers.ensure(type, count);
  const deadline = Date.now() + 240_000;
  for (;;) {
    const statuses = await servers.countPerStatus(type);
    /** @type {import('dynamic-servers').ServerStatus[]} */
    const onTheWay = ['new', 'starting', 'rebooting', 'stopping', 'stopped', 'deleting'];
    const moving = onTheWay.reduce((sum, status) => sum + statuses[status], 0);
    if (statuses.running === count && moving === 0) break;
    if (Date.now() > deadline) throw new Error(\`\${type} did not settle at \${count}: \${JSON.stringify(statuses)}\`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.log(\`\${type}: \${count} running (ensure from ensure.mjs)\`);
} finally {
  await servers.close();
}
`;

const ENSURE_TS = `import { DynamicServers, PROVISIONED_STATUSES, type ServerStatus } from 'dynamic-servers';

const [type = 'local-worker', wanted = '2'] = process.argv.slice(2);
const count: number = Number(wanted);
const servers: DynamicServers = await DynamicServers.open({ databaseUrl: process.env.DATABASE_URL ?? '' });
const onTheWay: readonly ServerStatus[] = ['new', 'starting', 'rebooting', 'stopping', 'stopped', 'deleting'];
try {
  await servers.ensure(type, count);
  const deadline = Date.now() + 240_000;
  for (;;) {
    const statuses: Record<ServerStatus, number> = await servers.countPerStatus(type);
    if (statuses.running === count && onTheWay.every((status) => statuses[status] === 0)) break;
    if (Date.now() > deadline) throw new Error(\`\${type} did not settle at \${count}: \${JSON.stringify(statuses)}\`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const running = await servers.servers({ serverType: type, status: 'running' });
  console.log(\`\${type}: \${running.length} running (ensure from ensure.ts): \${running.map((server) => server.name).join(', ')}; provisioned statuses: \${PROVISIONED_STATUSES.join(', ')}\`);
} finally {
  await servers.close();
}
`;

/** A script that must not type-check: the package's declarations are what tsc reads, not an `any`. */
const PROBE_TS = `import { DynamicServers } from 'dynamic-servers';

const servers = await DynamicServers.open({ databaseUrl: 'postgres://unused' });
await servers.ensure('local-worker', 'two');
`;

const TINY_STACK = `config:
  dynamic-servers:provider: '@acme/dynamic-servers-tiny'
  dynamic-servers:template:
    snapshot: base-snapshot
    size: small
  dynamic-servers:maxServers: 4
`;

beforeAll(async () => {
  work = await tempDir('package');
  tarballs = join(work.path, 'tarballs');
  await mkdir(tarballs);
  await mkdir(join(work.path, 'a'));
  await mkdir(join(work.path, 'b'));
  consumer = join(work.path, 'a', 'consumer');
  moved = join(work.path, 'b', 'consumer');
  // Others may enter, as in a user's home: the demo's embedded PostgreSQL runs as user postgres when we are root.
  for (const dir of [work.path, join(work.path, 'a'), join(work.path, 'b')]) await chmod(dir, 0o755);
  say(`checkout: ${CHECKOUT}\nproject: ${consumer} (moved later to ${moved})`);
});

afterAll(async () => {
  await worker?.stop();
  await records?.close();
  await cloud?.stop();
  await database?.stop();
  await work?.remove();
  for (const entry of npxEntries) await rm(entry, { recursive: true, force: true });
}, 120_000);

test('npm pack: compiled JavaScript with declarations, the bin, the plugins and the demo\'s stack file; no tests, benches or sources; under 1 MB', async () => {
  let started = performance.now();
  const dryRun = await run(CHECKOUT, 'npm', ['pack', '--dry-run']);
  say(`--- npm pack --dry-run (${since(started)}) ---\n${dryRun.stderr}${dryRun.stdout}--- end of npm pack --dry-run ---`);

  started = performance.now();
  const packed = await run(CHECKOUT, 'npm', ['pack', '--json', '--pack-destination', tarballs]);
  const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  tarball = join(tarballs, report!.filename);
  say(`tarball: ${report!.filename}, ${report!.size} bytes packed (${(report!.size / 1024).toFixed(1)} KiB), ${report!.unpackedSize} bytes unpacked, ${report!.files.length} files (${since(started)})`);

  expect(report!.size).toBeLessThan(1_000_000);
  const paths = report!.files.map((file) => file.path);
  // Besides dist/: the bin, the plugins' JavaScript (copied into the engine cache as it is), the demo's stack file.
  const outside = paths.filter((path) => !/^(dist\/|bin\/dynamic-servers\.js$|src\/toolchain\/plugins\/[\w-]+\.mjs$|src\/operations\/status-page\.html$|stacks\/Pulumi\.demo\.yaml$|package\.json$|README\.md$)/.test(path));
  expect(outside).toEqual([]);
  expect(paths.filter((path) => path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
  expect(paths).toEqual(expect.arrayContaining([INSTALLED_STACK_PROGRAM, 'dist/src/api.js', 'dist/src/api.d.ts', 'dist/providers/contract.d.ts', 'dist/src/cli/main.js', 'src/toolchain/plugins/language-host.mjs', 'src/operations/status-page.html']));
  // prepack built dist/ for the tarball and postpack removed it: the checkout runs its sources only.
  expect(existsSync(join(CHECKOUT, 'dist'))).toBe(false);
}, LONG);

test('`npx dynamic-servers init` on the machine\'s Node makes the project, and `npm install <tarball>` gives it its own copy', async () => {
  let started = performance.now();
  // npx brings a Node new enough along; the machine's own (20 here) would be refused by the bin, saying so.
  const init = await runCommand('npx', ['--yes', '-p', `node@${PINNED_NODE}`, '-p', tarball, '--', 'dynamic-servers', 'init', 'consumer'], { cwd: join(work.path, 'a'), env: userEnv() });
  npxEntries = await npxEntriesOf(tarball);
  // npm's own warnings aside (its Node is the machine's), init wrote nothing on stderr.
  expect({ code: init.code, stderr: init.stderr.split('\n').filter((line) => !/^npm warn |^\s*$/.test(line)) }).toEqual({ code: 0, stderr: [] });
  say(`npx dynamic-servers init consumer (${since(started)}):\n${init.stdout}`);
  expect(init.stdout).toContain(`Made a deployment project in ${consumer}`);

  started = performance.now();
  await run(consumer, 'npm', ['install', '--no-audit', '--no-fund', tarball]);
  say(`npm install <tarball> in the project: ${since(started)}`);
  const installed = join(consumer, 'node_modules', 'dynamic-servers');
  expect((await lstat(installed)).isSymbolicLink()).toBe(false);
  expect(JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'))).toMatchObject({ version: '0.1.0' });
  expect((JSON.parse(await readFile(join(consumer, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['dynamic-servers']).toBe(
    'file:../../tarballs/dynamic-servers-0.1.0.tgz',
  );
  // The project's copy came from the tarball alone: nothing in it, and nothing in the project, names the checkout.
  expect(await filesContaining(installed, CHECKOUT)).toEqual([]);
  expect(await filesContaining(consumer, CHECKOUT)).toEqual([]);
  expect((await run(consumer, projectNode(consumer), ['--version'])).stdout.trim()).toBe(`v${PINNED_NODE}`);

  const validate = await run(consumer, 'npx', ['dynamic-servers', 'validate']);
  expect(validate.stdout.trim().split('\n').sort()).toEqual([
    'ok stacks/Pulumi.aws-worker.yaml (type aws-worker, provider aws)',
    'ok stacks/Pulumi.hcloud-worker.yaml (type hcloud-worker, provider hcloud)',
    'ok stacks/Pulumi.local-worker.yaml (type local-worker, provider local)',
  ]);
}, LONG);

test('a worker on the local cloud, and a .mjs and a .ts script on the project\'s Node: ensure(local-worker, 2) gets 2 servers running', async () => {
  database = await startEmbeddedPostgres('package_test');
  cloud = await startLocalCloud({ delays: { initializing: 300, starting: 300, stopping: 200, rebooting: 200, deleting: 200 } });
  records = await DynamicServers.open({ databaseUrl: database.url });
  let started = performance.now();
  worker = await startWorkerProcess(deploymentEnv(), [], undefined, { command: [projectNode(consumer), join(consumer, 'node_modules', '.bin', 'dynamic-servers')], cwd: consumer });
  say(`worker of the project started (published its stack files): ${since(started)}`);
  expect((await records.serverTypes()).map((type) => type.name).sort()).toEqual(['aws-worker', 'hcloud-worker', 'local-worker']);

  await writeFile(join(consumer, 'ensure.mjs'), ENSURE_MJS);
  await writeFile(join(consumer, 'ensure.ts'), ENSURE_TS);
  for (const script of ['ensure.mjs', 'ensure.ts']) {
    started = performance.now();
    const result = await run(consumer, projectNode(consumer), [script, 'local-worker', '2'], deploymentEnv());
    say(`${result.stdout.trim()} (${since(started)})`);
    expect(result.stdout).toContain('local-worker: 2 running');
    expect(cloudServers('local-worker')).toEqual({ running: 2 });
  }
  expect(worker.text.filter((line) => line.trim() !== '')).toEqual([]);
}, LONG);

test('tsc --noEmit passes in the project against the package\'s declarations, and catches a wrong call', async () => {
  const started = performance.now();
  const typecheck = await runCommand('npm', ['run', 'typecheck'], { cwd: consumer, env: userEnv() });
  say(`npm run typecheck (tsc --noEmit) in the project: exit ${typecheck.code} (${since(started)})`);
  expect({ code: typecheck.code, output: typecheck.stdout.split('\n').filter((line) => line.includes('error')) }).toEqual({ code: 0, output: [] });

  await writeFile(join(consumer, 'probe.ts'), PROBE_TS);
  const probe = await runCommand('npm', ['run', 'typecheck'], { cwd: consumer, env: userEnv() });
  await rm(join(consumer, 'probe.ts'));
  expect(probe.code).not.toBe(0);
  expect(probe.stdout).toMatch(/probe\.ts\(4,\d+\): error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'/);
}, LONG);

test('`pulumi preview` in the project runs the package\'s stack program from node_modules on the project\'s Node, and plans nothing', async () => {
  const started = performance.now();
  const env = { ...deploymentEnv(), PULUMI_BACKEND_URL: `file://${join(consumer, '.data', 'state')}`, PULUMI_SKIP_UPDATE_CHECK: 'true' };
  const preview = await runCommand('sh', ['-c', 'PATH="$(npx dynamic-servers toolchain path):$PATH" pulumi preview --stack local-worker --json'], { cwd: consumer, env });
  say(`pulumi preview --stack local-worker in the project: exit ${preview.code} (${since(started)})`);
  expect({ code: preview.code, stderr: preview.stderr }).toEqual({ code: 0, stderr: '' });
  const plan = JSON.parse(preview.stdout) as { changeSummary: Record<string, number> };
  expect(plan.changeSummary).toEqual({ same: 3 });
}, LONG);

test('a provider package installed in the project passes the exported conformance suite and runs through `up`', async () => {
  let started = performance.now();
  const packed = await run(FIXTURE, 'npm', ['pack', '--json', '--pack-destination', tarballs]);
  const fixtureTarball = join(tarballs, (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename);
  await run(consumer, 'npm', ['install', '--no-audit', '--no-fund', fixtureTarball]);
  say(`npm pack and npm install of the provider package: ${since(started)}`);
  expect(JSON.parse(await readFile(join(consumer, 'node_modules', '@acme', 'dynamic-servers-tiny', 'package.json'), 'utf8'))).toMatchObject({
    peerDependencies: { 'dynamic-servers': '^0.1.0' },
  });

  // Its own check, copied into the project where the package and dynamic-servers are installed.
  await copyFile(join(FIXTURE, 'conformance.mjs'), join(consumer, 'conformance.mjs'));
  started = performance.now();
  const conformance = await run(consumer, projectNode(consumer), ['conformance.mjs'], deploymentEnv());
  say(`${conformance.stdout.trim()}\n(conformance suite of @acme/dynamic-servers-tiny: ${since(started)})`);
  expect(conformance.stdout.trim().split('\n')).toEqual([
    'step: lists no server of the suite’s server type before anything is created',
    'step: up creates exactly one server, named by its stable id and labelled managed-by, installation, server type and server id',
    'step: observe reports the server starting, then running',
    'step: a repeated up with the same declaration keeps the same single server',
    'step: up without the server deletes it, and observe then answers not found',
    'step: leaves no server of the suite’s server type behind (leak check by label)',
    'conformance: passed',
  ]);

  await writeFile(join(consumer, 'stacks', 'Pulumi.tiny-worker.yaml'), TINY_STACK);
  const validate = await run(consumer, 'npx', ['dynamic-servers', 'validate']);
  expect(validate.stdout).toContain('ok stacks/Pulumi.tiny-worker.yaml (type tiny-worker, provider @acme/dynamic-servers-tiny)');
  // The worker publishes the new file on its own, and the new type gets its jobs.
  await until('the worker to publish tiny-worker', async () => (await records.serverTypes()).some((type) => type.name === 'tiny-worker'));
  expect((await records.serverTypes()).find((type) => type.name === 'tiny-worker')).toMatchObject({ provider: '@acme/dynamic-servers-tiny' });

  started = performance.now();
  const up = await run(consumer, projectNode(consumer), ['ensure.mjs', 'tiny-worker', '2'], deploymentEnv());
  say(`${up.stdout.trim()} (${since(started)})`);
  expect(cloudServers('tiny-worker')).toEqual({ running: 2 });
  const state = await filesContaining(join(consumer, '.data', 'state'), 'pulumi-nodejs:dynamic/tiny-cloud:Server');
  expect(state).toEqual(expect.arrayContaining([expect.stringMatching(/tiny-worker\.json$/)]));

  started = performance.now();
  await run(consumer, projectNode(consumer), ['ensure.mjs', 'tiny-worker', '0'], deploymentEnv());
  await until('the tiny servers to be gone from the cloud', () => Object.keys(cloudServers('tiny-worker')).length === 0);
  say(`tiny-worker down to 0: ${since(started)}`);
  expect(await records.countPerStatus('tiny-worker')).toMatchObject({ deleted: 2, errored: 0, running: 0 });
}, LONG);

test('moved to another directory and upgraded to a re-packed 0.1.1 between two reconciles, the next decrease deletes the old servers; the state names no path', async () => {
  expect(await worker!.stop()).toBe(0);
  worker = undefined;

  // 0.1.1: the same package, packed again under a new version.
  const repack = join(work.path, 'repack');
  await mkdir(repack);
  await run(repack, 'tar', ['-xzf', tarball]);
  const manifestPath = join(repack, 'package', 'package.json');
  await writeFile(manifestPath, (await readFile(manifestPath, 'utf8')).replace('"version": "0.1.0"', '"version": "0.1.1"'));
  const repacked = await run(join(repack, 'package'), 'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tarballs]);
  const upgrade = join(tarballs, (JSON.parse(repacked.stdout) as { filename: string }[])[0]!.filename);
  expect(upgrade.endsWith('dynamic-servers-0.1.1.tgz')).toBe(true);

  await rename(consumer, moved);
  let started = performance.now();
  await run(moved, 'npm', ['install', '--no-audit', '--no-fund', upgrade]);
  say(`moved the project to ${moved}; npm install of 0.1.1: ${since(started)}`);
  expect(JSON.parse(await readFile(join(moved, 'node_modules', 'dynamic-servers', 'package.json'), 'utf8'))).toMatchObject({ version: '0.1.1' });
  const before = await records.servers({ serverType: 'local-worker', status: 'running' });
  expect(before).toHaveLength(2);

  started = performance.now();
  worker = await startWorkerProcess(deploymentEnv(), [], undefined, { command: [projectNode(moved), join(moved, 'node_modules', '.bin', 'dynamic-servers')], cwd: moved });
  await run(moved, 'npx', ['dynamic-servers', 'decrease', 'local-worker', '2'], deploymentEnv());
  await until('the old servers to be deleted', async () => Object.keys(cloudServers('local-worker')).length === 0 && (await records.countPerStatus('local-worker')).deleted === 2);
  say(`decrease local-worker 2 after the move and the upgrade: both deleted (${since(started)})`);
  const after = await Promise.all(before.map((server) => records.server(server.id)));
  expect(after.map((server) => server?.status)).toEqual(['deleted', 'deleted']);
  expect(worker.text.filter((line) => line.trim() !== '')).toEqual([]);

  // Every file of the state: checkpoints, their history and backups, the stack files' salts.
  const stateDir = join(moved, '.data');
  expect((await filesContaining(stateDir, 'dynamic-servers/providers/local/client')).length).toBeGreaterThan(0);
  const oldDir = consumer;
  expect({ checkout: await filesContaining(stateDir, CHECKOUT), oldDirectory: await filesContaining(stateDir, oldDir) }).toEqual({ checkout: [], oldDirectory: [] });
  expect({ checkout: await filesContaining(join(moved, 'stacks'), CHECKOUT), oldDirectory: await filesContaining(join(moved, 'stacks'), oldDir) }).toEqual({ checkout: [], oldDirectory: [] });
}, LONG);

test('`npx dynamic-servers demo` runs in the project, from the installed package', async () => {
  await worker?.stop();
  worker = undefined;
  const started = performance.now();
  const demo = await run(moved, 'npx', ['dynamic-servers', 'demo'], userEnv());
  say(`npx dynamic-servers demo in the project (${since(started)}):\n${demo.stdout.split('\n').filter((line) => /: .*\(\d|clean shutdown|steps:/.test(line)).join('\n')}`);
  expect(demo.stdout).toContain('clean shutdown: worker exited 0, 0 servers left in the cloud, 0 processes left');
}, LONG);
