// Every command's --help ends with at least one example, and every read command offers --json.
import { expect, test } from '@jest/globals';
import { runCli } from '../support/cli.ts';

const COMMANDS = [
  ['doctor'], ['validate'], ['preview'], ['reconcile'], ['list'], ['status'], ['ensure'], ['increase'], ['decrease'], ['reboot'],
  ['delete'], ['toolchain'], ['toolchain', 'install'], ['toolchain', 'path'], ['local-cloud'], ['worker'], ['monitor'], ['hanging'],
  ['rollout'],
];
const READ_COMMANDS = ['doctor', 'validate', 'preview', 'list', 'status', 'monitor', 'hanging', 'rollout'];

test('--help of every command shows an example; read commands offer --json', async () => {
  const helps = await Promise.all(COMMANDS.map(async (command) => ({ command: command.join(' '), result: await runCli(process.env, ...command, '--help') })));
  for (const { command, result } of helps) {
    expect({ command, code: result.code }).toEqual({ command, code: 0 });
    expect({ command, example: /\nExamples?:\n {2}\$ .*npx dynamic-servers /.test(result.stdout) }).toEqual({ command, example: true });
    if (READ_COMMANDS.includes(command)) expect({ command, json: result.stdout.includes('--json') }).toEqual({ command, json: true });
  }
});

test('an unknown command is a usage error: exit 2', async () => {
  const result = await runCli(process.env, 'nope');
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^error: unknown command 'nope'/);
});
