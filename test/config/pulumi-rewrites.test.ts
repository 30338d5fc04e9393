// Pulumi rewrites the reviewed stack files: `pulumi stack init` and `pulumi config set --secret` (as the README
// tells users to run) and the engine's own stack creation store every top-level value as a string
// (`maxServers: "7"`). The files must stay valid and mean what they meant. (Every numeric key is here; the stack
// files have no boolean keys.)
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld({ maxServers: 5, stackConfig: { 'dynamic-servers:bootTimeoutSeconds': 120 } });
});

afterAll(async () => {
  await world?.close();
});

/** `pulumi ...args` in the project, as a user runs it (the engine's bin directory first on PATH). */
function pulumi(...args: string[]) {
  const env = { ...world.cliEnv, PATH: `${world.settings.engine.binDir}${delimiter}${process.env.PATH}`, PULUMI_SKIP_UPDATE_CHECK: 'true' };
  return runCommand('pulumi', args, { cwd: world.projectDir, env });
}

test('after pulumi stack init and config set --secret, validate, publish, reconcile and list still pass with the same values', async () => {
  const file = join(world.projectDir, 'stacks', 'Pulumi.rewritten.yaml');
  const original = (await readFile(join(world.projectDir, 'stacks', 'Pulumi.demo.yaml'), 'utf8'))
    .replace(/\n {2}dynamic-servers:(maxServers|bootTimeoutSeconds): \d+/g, '')
    .replace(
      'config:\n',
      'config:\n  dynamic-servers:maxServers: 7\n  dynamic-servers:newTimeoutSeconds: 89\n  dynamic-servers:bootTimeoutSeconds: 90\n  dynamic-servers:stopTimeoutSeconds: 91\n  dynamic-servers:deleteTimeoutSeconds: 92\n  dynamic-servers:erroredServers: keep\n' +
        '  dynamic-servers:budgetPerHour: 0.05\n  dynamic-servers:unavailableOfferingSeconds: 93\n  dynamic-servers:prices:\n    small: 0.004\n' +
        '  dynamic-servers:drainTimeoutSeconds: 94\n  dynamic-servers:maxDrainSeconds: 95\n  dynamic-servers:rollout:\n    maxSurge: 2\n    maxUnavailable: 25%\n',
    );
  await writeFile(file, original);

  expect((await pulumi('stack', 'init', 'rewritten')).code).toBe(0);
  expect((await pulumi('config', 'set', '--secret', 'local:token', 'not-needed-by-this-cloud', '--stack', 'rewritten')).code).toBe(0);
  const rewritten = await readFile(file, 'utf8');
  // Pulumi did rewrite it: quoted numbers, a salt, the secret.
  expect(rewritten).toContain('dynamic-servers:maxServers: "7"');
  expect(rewritten).toContain('dynamic-servers:deleteTimeoutSeconds: "92"');
  expect(rewritten).toContain('dynamic-servers:budgetPerHour: "0.05"');
  expect(rewritten).toContain('dynamic-servers:maxDrainSeconds: "95"');
  expect(rewritten).toMatch(/encryptionsalt: v1:/);
  expect(rewritten).toMatch(/local:token:\n\s+secure: v1:/);

  expect((await runCli(world.cliEnv, 'validate', join(world.projectDir, 'stacks'))).code).toBe(0);
  expect((await runCli(world.cliEnv, 'publish')).code).toBe(0);
  const [published] = await world.records.serverTypeVersions('rewritten');
  expect(published!.settings).toEqual({
    maxServers: 7,
    timeouts: { newSeconds: 89, bootSeconds: 90, stopSeconds: 91, deleteSeconds: 92 },
    hangingServers: 'delete',
    erroredServers: 'keep',
    offerings: ['small'],
    prices: { small: 0.004 },
    budgetPerHour: 0.05,
    unavailableOfferingSeconds: 93,
    rollout: { strategy: 'replace', maxSurge: 2, maxUnavailable: '25%' },
    drain: { hook: null, timeoutSeconds: 94, maxSeconds: 95 },
    undrainedServers: 'delete',
  });

  await world.records.ensure('rewritten', 1);
  const reconcile = await runCli(world.cliEnv, 'reconcile', 'rewritten', '--wait', '--json');
  expect(reconcile.code).toBe(0);
  expect((JSON.parse(reconcile.stdout) as Record<string, number>).running).toBe(1);
  expect((await runCli(world.cliEnv, 'validate', join(world.projectDir, 'stacks'))).code).toBe(0);
  expect((await runCli(world.cliEnv, 'list', '--type', 'rewritten')).code).toBe(0);
  // A limit that still means 7: the eighth server is refused.
  expect(await world.records.ensure('rewritten', 9)).toMatchObject({ after: 7, limitHit: { maximum: 7 } });
  await world.records.ensure('rewritten', 0);
});

test('the engine creating a stack itself rewrites the file the same way, and it stays valid', async () => {
  const file = join(world.projectDir, 'stacks', 'Pulumi.demo.yaml');
  await world.records.ensure('demo', 1);
  await world.engine.converge('demo');
  const rewritten = await readFile(file, 'utf8');
  expect(rewritten).toContain('dynamic-servers:maxServers: "5"');
  expect((await runCli(world.cliEnv, 'validate', join(world.projectDir, 'stacks'))).code).toBe(0);
  const publish = await runCli(world.cliEnv, 'publish', '--json');
  expect((JSON.parse(publish.stdout) as { unchanged: string[] }).unchanged).toContain('demo');
});
