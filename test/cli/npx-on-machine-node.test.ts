// `npx dynamic-servers` as a user runs it on a machine whose own Node is older than the product needs (Node 20):
// npm, running on that Node, prints no warning (npx links the project into its cache on first use, and would check
// an `engines` field against npm's own Node), the command runs on the pinned Node, and the command started directly
// on the machine's Node says what is wrong and what to do.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { CHECKOUT_DIR } from '../../src/demo/scratch-project.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { CLI } from '../support/cli.ts';
import { machineNode, pathWithMachineNodeFirst } from '../support/machine-node.ts';
import { tempDir } from '../support/temp-dir.ts';

let npmCache: Awaited<ReturnType<typeof tempDir>>;
let machineVersion: string;

beforeAll(async () => {
  npmCache = await tempDir('npx-cache');
  machineVersion = (await runCommand(machineNode(), ['--version'], {})).stdout.trim();
  process.stdout.write(`machine node: ${machineNode()} ${machineVersion}\n`);
});

afterAll(async () => {
  await npmCache?.remove();
});

test('`npx dynamic-servers --help` with the machine\'s Node first on PATH and an empty npm cache prints no npm warning', async () => {
  const env = { ...process.env, PATH: pathWithMachineNodeFirst(), npm_config_cache: npmCache.path };
  for (const run of ['first (links the project into the npx cache)', 'second']) {
    const result = await runCommand('npx', ['dynamic-servers', '--help'], { cwd: CHECKOUT_DIR, env });
    expect({ run, code: result.code, npmWarnings: result.stderr.split('\n').filter((line) => /npm warn/i.test(line)) }).toEqual({ run, code: 0, npmWarnings: [] });
    // The help came out, so the command ran on a Node that it accepts (the pinned one, from node_modules/.bin).
    expect(result.stdout).toMatch(/^Usage: dynamic-servers /);
  }
});

test('started directly on a Node older than 22.18, the command says which Node it needs and how to get it', async () => {
  const [major = 0, minor = 0] = machineVersion.slice(1).split('.').map(Number);
  const tooOld = major < 22 || (major === 22 && minor < 18);
  const result = await runCommand(machineNode(), [CLI, '--help'], {});
  if (!tooOld) {
    expect(result.code).toBe(0);
    return;
  }
  expect(result.code).toBe(3);
  expect(result.stderr).toContain(`dynamic-servers needs Node 22.18 or newer, and ${machineNode()} is ${machineVersion}`);
  expect(result.stderr).toContain('npm install');
});
