// `toolchain path` prints the directories of the pinned Pulumi CLI and its plugins (a PATH fragment); an extra
// argument is a usage error. The plugins live in a directory named by their contents, so two versions of this
// package on one machine never overwrite each other's.
import { expect, test } from '@jest/globals';
import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { enginePath } from '../../src/engine/pulumi-adapter.ts';
import { installPluginShims } from '../../src/toolchain/plugins.ts';
import { tempDir } from '../support/temp-dir.ts';
import { requireEngine } from '../../src/toolchain/engine.ts';
import { pinnedPulumiVersion } from '../../src/toolchain/versions.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { runCli } from '../support/cli.ts';

test('toolchain path prints the directories of the pinned Pulumi CLI and of its plugins', async () => {
  const result = await runCli(process.env, 'toolchain', 'path');
  expect(result.code).toBe(0);
  const path = result.stdout.trim();
  expect(result.stdout).toBe(`${path}\n`);
  const engine = await requireEngine();
  expect(path).toBe(enginePath(engine));
  const version = await runCommand('pulumi', ['version'], { env: { ...process.env, PATH: `${path}${delimiter}${process.env.PATH}` } });
  expect(version.stdout.trim()).toBe(`v${pinnedPulumiVersion()}`);
  if (engine.source === 'go-build') {
    expect(path.split(delimiter)).toEqual([engine.pluginDir, engine.binDir]);
    for (const plugin of ['pulumi-language-nodejs', 'pulumi-resource-pulumi-nodejs']) await access(join(engine.pluginDir!, plugin), constants.X_OK);
  }
});

test('plugins of other contents go to another directory of the cache; the same contents to the same one', async () => {
  const cache = await tempDir('plugin-cache');
  try {
    const first = await installPluginShims({ DYNAMIC_SERVERS_CACHE: cache.path });
    expect(await installPluginShims({ DYNAMIC_SERVERS_CACHE: cache.path })).toBe(first);
    expect(first.startsWith(join(cache.path, 'plugins'))).toBe(true);
    // A different version of the package: another directory, and the first one untouched.
    const other = join(cache.path, 'plugins', 'written-by-another-version');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'pulumi-resource-pulumi-nodejs'), '#!/bin/sh\necho other\n');
    const again = await installPluginShims({ DYNAMIC_SERVERS_CACHE: cache.path });
    expect(again).toBe(first);
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
