// validate, publish and types on a deployment project: a misspelt provider or a template its provider refuses is
// one `file:line: key: problem` line each (exit 1), and publishing such files writes nothing; valid files publish
// a version per changed type, and `types --history` lists them.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { runCli } from '../support/cli.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

let world: EngineWorld;
let stacks: string;
let valid: string;

beforeAll(async () => {
  world = await startEngineWorld();
  stacks = join(world.projectDir, 'stacks');
  valid = await readFile(join(stacks, 'Pulumi.demo.yaml'), 'utf8');
});

afterAll(async () => {
  await world?.close();
});

/** The registry's rows, read directly: what a refused publication must leave untouched. */
async function registry(): Promise<string> {
  const client = new pg.Client({ connectionString: world.database.url });
  await client.connect();
  try {
    return JSON.stringify((await client.query('select * from server_type_config order by id')).rows);
  } finally {
    await client.end();
  }
}

test('a misspelt provider and a template the provider rejects: exit 1, one line each, and publish writes nothing', async () => {
  await writeFile(join(stacks, 'Pulumi.typo.yaml'), valid.replace('provider: local', 'provider: hcluod'));
  await writeFile(join(stacks, 'Pulumi.nosize.yaml'), valid.replace('    size: small\n', ''));
  const before = await registry();

  const validate = await runCli(world.cliEnv, 'validate', stacks);
  expect(validate.code).toBe(1);
  const problems = validate.stderr.split('\n').filter((line) => line.startsWith(stacks));
  expect(problems).toEqual([
    `${join(stacks, 'Pulumi.nosize.yaml')}:3: dynamic-servers:template: provider local rejects it: ${problems[0]!.split('rejects it: ')[1]}`,
    `${join(stacks, 'Pulumi.typo.yaml')}:2: dynamic-servers:provider: unknown provider "hcluod": not a built-in provider (aws, fake, hcloud, local), and no package of that name is installed in ${world.projectDir} (\`npm install hcluod\` there, if it is a provider package)`,
  ]);
  expect(problems[0]).toMatch(/size/);

  const publish = await runCli(world.cliEnv, 'publish');
  expect(publish.code).toBe(1);
  expect(publish.stderr).toContain('Pulumi.typo.yaml:2: dynamic-servers:provider: unknown provider "hcluod"');
  expect(await registry()).toBe(before);
});

test('valid files publish a version per changed type; unchanged ones stay; types --history lists every version', async () => {
  await writeFile(join(stacks, 'Pulumi.typo.yaml'), valid.replace('size: small', 'size: medium'));
  await writeFile(join(stacks, 'Pulumi.nosize.yaml'), valid.replace('maxServers', 'bootTimeoutSeconds'));
  const publish = await runCli(world.cliEnv, 'publish', '--json');
  expect(publish.code).toBe(0);
  const report = JSON.parse(publish.stdout) as { published: { serverType: string; version: number }[]; unchanged: string[] };
  expect(report.published.map((type) => `${type.serverType} v${type.version}`).sort()).toEqual(['nosize v1', 'typo v1']);
  expect(report.unchanged).toEqual(['demo']);

  const again = await runCli(world.cliEnv, 'publish', '--json');
  expect((JSON.parse(again.stdout) as { published: unknown[] }).published).toEqual([]);

  const types = await runCli(world.cliEnv, 'types');
  expect(types.code).toBe(0);
  expect(types.stdout.split('\n').filter((line) => /^(demo|nosize|typo) /.test(line)).map((line) => line.split(/\s+/).slice(0, 3).join(' '))).toEqual([
    'demo 1 local',
    'nosize 1 local',
    'typo 1 local',
  ]);
});
