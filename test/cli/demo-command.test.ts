// `demo` with bad numbers: a usage error before anything starts (its success path runs from a fresh clone in
// test/demo/demo-from-clone.test.ts).
import { expect, test } from '@jest/globals';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { runCli } from '../support/cli.ts';

const demoDirs = async () => (await readdir(tmpdir())).filter((name) => name.startsWith('dynamic-servers-demo-')).sort();

test.each([
  [['--servers', '0'], /--servers must be a whole number from 1 to 20 .* got --servers 0 --keep 1/],
  [['--servers', '3', '--keep', '3'], /--keep one from 0 to servers - 1, got --servers 3 --keep 3/],
  [['--servers', 'many'], /got --servers many/],
])('demo %j exits 2 with the problem on the first line (then the usage) and starts nothing', async (args, message) => {
  const before = await demoDirs();
  const result = await runCli(process.env, 'demo', ...args);
  expect(result.code).toBe(2);
  const [first, ...rest] = result.stderr.split('\n');
  expect(first).toMatch(message);
  expect(rest.join('\n')).toContain('Usage: dynamic-servers demo [options]');
  expect(result.stdout).toBe('');
  expect(await demoDirs()).toEqual(before);
});
