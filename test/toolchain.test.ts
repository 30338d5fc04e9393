// The toolchain's own rules: which go.mod replacements a source build keeps, and that a missing engine is
// an error that says what to do (tests and the engine fail on it rather than skip).
import { afterEach, expect, test } from '@jest/globals';
import { EngineUnavailableError } from '../src/toolchain/errors.ts';
import { requireEngine } from '../src/toolchain/engine.ts';
import { remoteReplaces } from '../src/toolchain/go-build.ts';
import { tempDir } from './support/temp-dir.ts';

test('a source build keeps replacements by other modules and drops those into the Pulumi repository', () => {
  const goMod = [
    'module github.com/pulumi/pulumi/pkg/v3',
    '',
    'replace github.com/pulumi/pulumi/sdk/v3 => ../sdk',
    '',
    'replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e',
    '',
    'replace (',
    '\tgithub.com/example/a => github.com/fork/a v1.2.3',
    '\tgithub.com/example/b => /abs/path/b',
    ')',
  ].join('\n');
  expect(remoteReplaces(goMod)).toEqual([
    'github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e',
    'github.com/example/a => github.com/fork/a v1.2.3',
  ]);
});

const savedEnv = { PATH: process.env.PATH, DYNAMIC_SERVERS_CACHE: process.env.DYNAMIC_SERVERS_CACHE };
afterEach(() => {
  process.env.PATH = savedEnv.PATH;
  if (savedEnv.DYNAMIC_SERVERS_CACHE === undefined) delete process.env.DYNAMIC_SERVERS_CACHE;
  else process.env.DYNAMIC_SERVERS_CACHE = savedEnv.DYNAMIC_SERVERS_CACHE;
});

test('requireEngine throws EngineUnavailableError naming the install command when no engine exists', async () => {
  const emptyCache = await tempDir('no-engine');
  try {
    process.env.DYNAMIC_SERVERS_CACHE = emptyCache.path;
    process.env.PATH = '/usr/bin:/bin';
    const failure = await requireEngine().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EngineUnavailableError);
    expect((failure as Error).message).toMatch(/npx dynamic-servers toolchain install/);
  } finally {
    await emptyCache.remove();
  }
});
