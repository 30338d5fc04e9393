// `monitor`: one tick of the monitor from the command line. A module's answer becomes the type's desired count;
// a missing or unusable module or an unknown type exits 2 and a throwing callback exits 1, changing nothing.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';
import { tempDir } from '../support/temp-dir.ts';

let world: EngineWorld;
let modules: Awaited<ReturnType<typeof tempDir>>;

/** Writes a monitor module with `body` as its source and returns its path. */
async function monitorModule(name: string, body: string): Promise<string> {
  const path = join(modules.path, name);
  await writeFile(path, body);
  return path;
}

beforeAll(async () => {
  world = await startEngineWorld();
  modules = await tempDir('monitor-modules');
});

afterAll(async () => {
  await world?.close();
  await modules?.remove();
});

test("applies the module's answer with ensure and prints the type's count before and after", async () => {
  const module = await monitorModule('two.mjs', "export function determineServerCount(type) { return type === 'demo' ? 2 : null; }\n");
  const result = await runCli(world.cliEnv, 'monitor', '--monitor', module, '--json');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual([{ serverType: 'demo', answer: 2, before: 0, after: 2, changed: true }]);
  expect(await world.records.desiredState('demo')).toMatchObject({ desiredCount: 2 });
  expect(await world.records.provisionedCount('demo')).toBe(2);

  const again = await runCli(world.cliEnv, 'monitor', '--monitor', module, '--type', 'demo');
  expect(again.code).toBe(0);
  expect(again.stdout.split('\n')).toEqual([expect.stringMatching(/^TYPE\s+ANSWER\s+BEFORE\s+AFTER\s+RESULT$/), expect.stringMatching(/^demo\s+2\s+2\s+2\s+unchanged$/), '']);
});

describe('bad input exits non-zero with a clear message and changes nothing', () => {
  test.each([
    ['a missing module', () => Promise.resolve(join(modules.path, 'missing.mjs')), [], 2, /^dynamic-servers: cannot load the monitor module .*missing\.mjs: /],
    ['a module without the export', () => monitorModule('none.mjs', 'export const count = 3;\n'), [], 2, /^dynamic-servers: .*none\.mjs does not export a determineServerCount function\n$/],
    ['an unknown --type', () => monitorModule('three.mjs', 'export const determineServerCount = () => 3;\n'), ['--type', 'nope'], 2, /^dynamic-servers: unknown server type "nope"/],
    ['a callback that throws', () => monitorModule('throws.mjs', "export function determineServerCount() { throw new Error('metrics unavailable'); }\n"), [], 1, /^dynamic-servers: determineServerCount\(demo\) failed: metrics unavailable\n$/],
    ['a negative answer', () => monitorModule('negative.mjs', 'export const determineServerCount = () => -1;\n'), [], 1, /^dynamic-servers: determineServerCount\(demo\) failed: count must be a whole number/],
  ] as const)('%s', async (_what, module, extra, code, message) => {
    const before = await world.records.servers();
    const desired = await world.records.desiredState('demo');
    const result = await runCli(world.cliEnv, 'monitor', '--monitor', await module(), ...extra);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(await world.records.servers()).toEqual(before);
    expect(await world.records.desiredState('demo')).toEqual(desired);
  });
});
