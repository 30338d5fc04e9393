// The one mapping from a thrown error to an exit code and the line on stderr.
import { expect, test } from '@jest/globals';
import { CommanderError } from 'commander';
import { StackBusyError } from '../../src/engine/errors.ts';
import { JobWorkerConfigError, MonitorModuleError } from '../../src/jobs/errors.ts';
import { InvalidCountError, NothingPublishedError, ServerLimitError, UnknownServerTypeError } from '../../src/records/errors.ts';
import { ServerTypeInUseError } from '../../src/records/registry.ts';
import { RuntimeConfigurationError } from '../../src/runtime.ts';
import { StackConfigError } from '../../src/config/errors.ts';
import { EngineUnavailableError } from '../../src/toolchain/errors.ts';
import { DEBUG_ENV, EXIT, describeFailure, formatFailure } from '../../src/cli/exit-codes.ts';

const CASES: [unknown, number, unknown][] = [
  [new UnknownServerTypeError('nope', ['demo']), EXIT.usage, 'unknown server type "nope"; published server types: demo'],
  [new InvalidCountError('count must be a whole number'), EXIT.usage, 'count must be a whole number'],
  [new JobWorkerConfigError('--monitor-interval must be a positive number, got "-1"'), EXIT.usage, '--monitor-interval must be a positive number, got "-1"'],
  [new MonitorModuleError('x.js does not export a determineServerCount function'), EXIT.usage, 'x.js does not export a determineServerCount function'],
  [new EngineUnavailableError('install Go'), EXIT.unavailable, 'install Go'],
  [new RuntimeConfigurationError('DATABASE_URL is not set'), EXIT.unavailable, 'DATABASE_URL is not set'],
  [new ServerLimitError({ scope: 'serverType', serverType: 'demo', maximum: 1, provisioned: 1, requested: 1 } as never), EXIT.failure, expect.stringMatching(/allows at most 1/)],
  [new NothingPublishedError('worker'), EXIT.usage, expect.stringContaining('run `npx dynamic-servers publish` in the deployment project')],
  [new ServerTypeInUseError([{ serverType: 'worker', provisioned: 2 }]), EXIT.failure, expect.stringContaining('server type "worker" (2 provisioned servers)')],
  [new StackBusyError('stack demo is locked\nby pid 7'), EXIT.failure, 'stack demo is locked'],
  [new TypeError('boom'), EXIT.failure, 'boom'],
  ['a string', EXIT.failure, 'a string'],
];

test.each(CASES.map(([error, exitCode, message]) => [error instanceof Error ? error.name : typeof error, error, exitCode, message] as const))('%s', (_name, error, exitCode, message) => {
  expect(describeFailure(error, {})).toEqual({ exitCode, message, details: [] });
});

test('invalid stack files exit 1 and list one problem per line, as validate documents', () => {
  const failure = describeFailure(new StackConfigError([{ file: 'stacks/Pulumi.demo.yaml', key: 'dynamic-servers:maxServers', problem: 'must be a whole number', line: 6 }]), {});
  expect(failure.exitCode).toBe(EXIT.failure);
  expect(formatFailure(failure)).toBe('dynamic-servers: 1 problem in the stack configuration:\nstacks/Pulumi.demo.yaml:6: dynamic-servers:maxServers: must be a whole number\n');
});

test('commander has printed its usage errors itself: exit 2 without a second message; help exits 0', () => {
  expect(describeFailure(new CommanderError(1, 'commander.unknownCommand', "error: unknown command 'x'"), {})).toEqual({ exitCode: EXIT.usage, message: null, details: [] });
  expect(describeFailure(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'), {})).toEqual({ exitCode: EXIT.ok, message: null, details: [] });
  expect(formatFailure({ exitCode: EXIT.usage, message: null, details: [] })).toBe('');
});

test(`the stack of an unexpected error is shown only with ${DEBUG_ENV}`, () => {
  const error = new Error('boom');
  expect(formatFailure(describeFailure(error, {}))).toBe('dynamic-servers: boom\n');
  const debug = formatFailure(describeFailure(error, { [DEBUG_ENV]: '1' }));
  expect(debug.split('\n').slice(0, 2)).toEqual(['dynamic-servers: boom', 'Error: boom']);
  expect(debug).toContain('exit-codes.test.ts');
});
