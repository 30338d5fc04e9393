// `dynamic-servers doctor`: every component on this machine, and an actionable failure without the engine.
import { expect, test } from '@jest/globals';
import { dirname, join } from 'node:path';
import { runCommand } from '../src/toolchain/run-command.ts';
import { tempDir } from './support/temp-dir.ts';

const cli = join(import.meta.dirname, '..', 'bin', 'dynamic-servers.js');
const COMPONENTS = ['node', 'pulumi CLI', 'language host', 'dynamic provider', 'database', 'job backend'];

test('doctor reports every component and exits 0 when the engine is installed', async () => {
  const result = await runCommand(process.execPath, [cli, 'doctor', '--json']);
  const reports = JSON.parse(result.stdout) as { component: string; ok: boolean; version: string }[];
  expect(reports.map((report) => report.component)).toEqual(COMPONENTS);
  expect(reports.filter((report) => !report.ok)).toEqual([]);
  expect(result.code).toBe(0);
});

test('without the cached engine and without Go, doctor and toolchain install exit non-zero and say what to do', async () => {
  const emptyCache = await tempDir('no-cache');
  try {
    // PATH keeps Node and the system tools but neither Go (/usr/local/go/bin) nor a pulumi.
    const env = { ...process.env, DYNAMIC_SERVERS_CACHE: emptyCache.path, PATH: `${dirname(process.execPath)}:/usr/bin:/bin` };
    const doctor = await runCommand(process.execPath, [cli, 'doctor'], { env });
    expect(doctor.code).toBe(3);
    expect(doctor.stdout).toMatch(/FAIL pulumi CLI/);
    expect(doctor.stdout).toMatch(/install Go 1\.25 or newer, or put Pulumi CLI v[\d.]+ on PATH, then run `npx dynamic-servers toolchain install`/);

    const install = await runCommand(process.execPath, [cli, 'toolchain', 'install'], { env });
    expect(install.code).toBe(3);
    expect(install.stderr).toMatch(/cannot be built because Go is not on PATH/);
  } finally {
    await emptyCache.remove();
  }
});
