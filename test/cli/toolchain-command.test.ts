// `toolchain path` prints the directory of the pinned Pulumi CLI and its plugins; an extra argument is a usage error.
import { expect, test } from '@jest/globals';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { requireEngine } from '../../src/toolchain/engine.ts';
import { pinnedPulumiVersion } from '../../src/toolchain/versions.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { runCli } from '../support/cli.ts';

test('toolchain path prints the directory of the pinned Pulumi CLI', async () => {
  const result = await runCli(process.env, 'toolchain', 'path');
  expect(result.code).toBe(0);
  const dir = result.stdout.trim();
  expect(result.stdout).toBe(`${dir}\n`);
  expect(dir).toBe((await requireEngine()).binDir);
  await access(join(dir, 'pulumi'), constants.X_OK);
  const version = await runCommand(join(dir, 'pulumi'), ['version']);
  expect(version.stdout.trim()).toBe(`v${pinnedPulumiVersion()}`);
});

test('toolchain path with an argument exits 2 and prints no path', async () => {
  const result = await runCli(process.env, 'toolchain', 'path', 'extra');
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^error: too many arguments for 'path'/);
  expect(result.stdout).toBe('');
});
