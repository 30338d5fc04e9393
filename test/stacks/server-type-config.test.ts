// Stack files: every problem is reported with its file, key and line; a valid file becomes a server type.
import { describe, expect, test } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StackConfigError } from '../../src/stacks/errors.ts';
import { loadServerTypes } from '../../src/stacks/load.ts';
import { parseServerTypeConfig } from '../../src/stacks/server-type-config.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { tempDir } from '../support/temp-dir.ts';

const VALID = `config:
  dynamic-servers:provider: local
  dynamic-servers:template:
    snapshot: worker-base
    size: small
  dynamic-servers:maxServers: 5
  dynamic-servers:bootTimeoutSeconds: 120
  dynamic-servers:apiToken:
    secure: v1:AAAABBBBCCCC
  local:endpoint: http://127.0.0.1:8080
`;

function problemsOf(file: string, text: string) {
  try {
    parseServerTypeConfig(file, text);
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as StackConfigError).problems.map(({ key, line, problem }) => ({ key, line, problem }));
  }
  throw new Error('expected a StackConfigError');
}

test('a valid stack file becomes a server type with defaults for what it leaves out', () => {
  expect(parseServerTypeConfig('stacks/Pulumi.worker.yaml', VALID)).toEqual({
    type: 'worker',
    file: 'stacks/Pulumi.worker.yaml',
    provider: 'local',
    template: { snapshot: 'worker-base', size: 'small' },
    maxServers: 5,
    timeouts: { bootSeconds: 120, stopSeconds: 600, deleteSeconds: 600 },
    secretKeys: ['dynamic-servers:apiToken'],
  });
});

describe('bad stack files name the file, key, line and problem', () => {
  test.each([
    ['a plain-text token', VALID.replace('  dynamic-servers:apiToken:\n    secure: v1:AAAABBBBCCCC\n', '  hcloud:token: abc123\n'), 'hcloud:token', 8, /must be a secret/],
    ['an unknown own key (typo)', VALID.replace('maxServers: 5', 'maxServer: 5'), 'dynamic-servers:maxServer', 6, /unknown key/],
    ['a negative limit', VALID.replace('maxServers: 5', 'maxServers: -1'), 'dynamic-servers:maxServers', 6, />=0|too small/i],
    ['a fractional timeout', VALID.replace('bootTimeoutSeconds: 120', 'bootTimeoutSeconds: 1.5'), 'dynamic-servers:bootTimeoutSeconds', 7, /int/i],
    ['a template that is not a mapping', VALID.replace('  dynamic-servers:template:\n    snapshot: worker-base\n    size: small\n', '  dynamic-servers:template: worker-base\n'), 'dynamic-servers:template', 3, /object|record/i],
    ['a missing provider', VALID.replace('  dynamic-servers:provider: local\n', ''), 'dynamic-servers:provider', undefined, /is required/],
  ])('%s', (_name, text, key, line, problem) => {
    const problems = problemsOf('stacks/Pulumi.worker.yaml', text);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ key, line });
    expect(problems[0]?.problem).toMatch(problem);
  });

  test('a file name that is not a server type name', () => {
    expect(problemsOf('stacks/Pulumi.Bad_Name.yaml', VALID)).toEqual([
      expect.objectContaining({ key: '(file)', problem: expect.stringMatching(/Pulumi.<type>.yaml/) }),
    ]);
  });

  test('broken YAML', () => {
    expect(problemsOf('stacks/Pulumi.worker.yaml', 'config:\n  a: [1, 2\n')[0]?.problem).toMatch(/not valid YAML/);
  });
});

test('loadServerTypes reports the problems of every file together, and validate exits 1 listing them', async () => {
  const dir = await tempDir('stacks');
  try {
    const stacks = join(dir.path, 'stacks');
    await mkdir(stacks);
    await writeFile(join(stacks, 'Pulumi.good.yaml'), VALID);
    await writeFile(join(stacks, 'Pulumi.bad-one.yaml'), VALID.replace('maxServers: 5', 'maxServers: many'));
    await writeFile(join(stacks, 'Pulumi.bad-two.yaml'), VALID.replace('  dynamic-servers:provider: local\n', ''));
    const failure = await loadServerTypes(stacks).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StackConfigError);
    expect((failure as StackConfigError).problems.map((problem) => problem.file)).toEqual([
      join(stacks, 'Pulumi.bad-one.yaml'),
      join(stacks, 'Pulumi.bad-two.yaml'),
    ]);

    const cli = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');
    const invalid = await runCommand(process.execPath, [cli, 'validate', stacks]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(`${join(stacks, 'Pulumi.bad-one.yaml')}:6: dynamic-servers:maxServers:`);

    await writeFile(join(stacks, 'Pulumi.bad-one.yaml'), VALID);
    await writeFile(join(stacks, 'Pulumi.bad-two.yaml'), VALID);
    const valid = await runCommand(process.execPath, [cli, 'validate', stacks, '--json']);
    expect(valid.code).toBe(0);
    expect((JSON.parse(valid.stdout) as { type: string }[]).map((type) => type.type)).toEqual(['bad-one', 'bad-two', 'good']);
  } finally {
    await dir.remove();
  }
});
