// `toolchain path` prints the directory of the pinned Pulumi CLI and its plugins; an extra argument is a usage error.
// A CLI built from source is linked beside the plugins of this version of the package, in a directory named by
// their contents, so two versions of the package on one machine never run each other's plugins.
import { expect, test } from '@jest/globals';
import { access, constants, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireEngine } from '../../src/toolchain/engine.ts';
import { binDirWithPlugins } from '../../src/toolchain/plugins.ts';
import { pinnedPulumiVersion } from '../../src/toolchain/versions.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

test('toolchain path prints the directory of the pinned Pulumi CLI and its plugins', async () => {
  const result = await runCli(process.env, 'toolchain', 'path');
  expect(result.code).toBe(0);
  const dir = result.stdout.trim();
  expect(result.stdout).toBe(`${dir}\n`);
  const engine = await requireEngine();
  expect(dir).toBe(engine.binDir);
  await access(join(dir, 'pulumi'), constants.X_OK);
  const version = await runCommand(join(dir, 'pulumi'), ['version']);
  expect(version.stdout.trim()).toBe(`v${pinnedPulumiVersion()}`);
  if (engine.source === 'go-build') {
    for (const plugin of ['pulumi-language-nodejs', 'pulumi-resource-pulumi-nodejs']) await access(join(dir, plugin), constants.X_OK);
  }
});

test('plugins of other contents get another directory; the same contents the same one; the CLI is linked, not copied', async () => {
  const cache = await tempDir('plugin-cache');
  try {
    const cli = join(cache.path, 'pulumi');
    await writeFile(cli, '#!/bin/sh\necho v0\n', { mode: 0o755 });
    const parent = join(cache.path, 'with-plugins');
    const first = await binDirWithPlugins(cli, parent);
    expect(await binDirWithPlugins(cli, parent)).toBe(first);
    expect((await stat(join(first, 'pulumi'))).ino).toBe((await stat(cli)).ino);
    // Another version of the package wrote its own directory: this one's stays as it was, and is still chosen.
    const other = join(parent, 'written-by-another', 'bin');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'pulumi-resource-pulumi-nodejs'), '#!/bin/sh\necho other\n');
    expect(await binDirWithPlugins(cli, parent)).toBe(first);
    expect(await readFile(join(other, 'pulumi-resource-pulumi-nodejs'), 'utf8')).toBe('#!/bin/sh\necho other\n');
    expect(await readFile(join(first, 'pulumi-resource-pulumi-nodejs'), 'utf8')).toContain('exit-with-parent.mjs');
  } finally {
    await cache.remove();
  }
});

test('toolchain path with an argument exits 2 and prints no path', async () => {
  const result = await runCli(process.env, 'toolchain', 'path', 'extra');
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^error: too many arguments for 'path'/);
  expect(result.stdout).toBe('');
});
