// `npm run demo` as a new user runs it: in a fresh clone of this repository, with none of this checkout's
// node_modules on PATH and an empty npm cache (as on a new machine, where npm writes the optional platform entries
// of the lock itself). `npm ci` must accept the committed lock; the demo's output must report 3 servers running,
// then 1, then a clean shutdown; afterwards no process runs from the clone and its tracked files are unchanged.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { chmod } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { processesUsing } from '../../src/demo/processes-using.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { tempDir } from '../support/temp-dir.ts';

const CHECKOUT = join(import.meta.dirname, '..', '..');
let work: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  work = await tempDir('demo-clone');
  // Like a home directory other users can enter: as root, embedded PostgreSQL runs as user postgres, which must
  // reach the clone's node_modules (a private directory is refused with a DatabaseStartError saying so).
  await chmod(work.path, 0o755);
});

afterAll(async () => {
  await work?.remove();
});

/** The environment of a new shell: no project settings, and no node_modules/.bin of any checkout on PATH. */
function newUserEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|DATABASE_URL|DYNAMIC_SERVERS_|PULUMI_|LOCAL_CLOUD_|JEST|NODE_OPTIONS$)/.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.includes('node_modules')).join(delimiter);
  env.npm_config_cache = join(work.path, 'empty-npm-cache');
  return env;
}

test('npm run demo in a fresh clone: 3 running, then 1, then a clean shutdown with nothing left', async () => {
  const clone = join(work.path, 'dynamic-servers');
  const cloned = await runCommand('git', ['clone', '--quiet', CHECKOUT, clone]);
  expect(cloned.code).toBe(0);

  const ci = await runCommand('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: clone, env: newUserEnv() });
  expect({ code: ci.code, stderr: ci.stderr.split('\n').filter((line) => line.includes('npm error')) }).toEqual({ code: 0, stderr: [] });

  const demo = await runCommand('npm', ['run', 'demo'], { cwd: clone, env: newUserEnv() });
  const output = demo.stdout;
  process.stdout.write(`npm run demo (exit ${demo.code}):\n${output}\n${demo.code === 0 ? '' : demo.stderr}\n`);
  expect(demo.code).toBe(0);

  const lines = output.split('\n');
  const index = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
  const threeRunning = index(/ensure\(demo, 3\): 3 running \(\d+\.\d s\)$/);
  const oneRunning = index(/decrease\(demo, 2\): 1 running, 2 deleted \(\d+\.\d s\)$/);
  const shutdown = index(/clean shutdown: worker exited 0, 0 servers left in the cloud, 0 processes left$/);
  expect(threeRunning).toBeGreaterThan(0);
  expect(oneRunning).toBeGreaterThan(threeRunning);
  expect(shutdown).toBeGreaterThan(oneRunning);
  // The servers' own progress lines are there too: three came up, two went.
  expect(lines.filter((line) => /demo-\d+-[0-9a-f]{8}: starting -> running/.test(line))).toHaveLength(3);
  expect(lines.slice(threeRunning, oneRunning).filter((line) => /demo-\d+-[0-9a-f]{8}: deleting -> deleted/.test(line))).toHaveLength(2);

  expect(await processesUsing([clone, 'dynamic-servers-demo-'])).toEqual([]);
  const status = await runCommand('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: clone });
  expect(status.stdout).toBe('');
}, 1_600_000);
