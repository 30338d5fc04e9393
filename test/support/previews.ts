// The two previews of a server type the README promises agree: `dynamic-servers preview <type> --json` and
// `pulumi preview --stack <type>` run from the project root, and what they must leave unchanged.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePreviewJson } from '../../src/engine/pulumi-adapter.ts';
import { stackEnvironment } from '../../src/engine/type-stack.ts';
import type { PlannedChanges } from '../../src/engine/stack-engine.ts';
import { runCommand } from '../../src/toolchain/run-command.ts';
import { runCli } from './cli.ts';
import type { EngineWorld } from './engine-world.ts';
import { filesUnder } from './secrets-scan.ts';

/** Both previews' planned servers, and every line they printed (for checks of what they must not print). */
export interface BothPreviews {
  ours: PlannedChanges;
  /** What `pulumi preview --stack` plans to create and delete, by server name, sorted. */
  cli: { creates: string[]; deletes: string[] };
  output: string[];
}

/** Runs both previews of `serverType` in `world`; throws when either fails. */
export async function bothPreviews(world: EngineWorld, serverType = 'demo'): Promise<BothPreviews> {
  const ours = await runCli(world.cliEnv, 'preview', serverType, '--json');
  const pulumi = await runCommand(join(world.settings.engine.binDir, 'pulumi'), ['preview', '--stack', serverType, '--json', '--non-interactive'], {
    cwd: world.projectDir,
    env: { ...world.cliEnv, ...stackEnvironment(world.settings) },
  });
  const output = [ours.stdout, ours.stderr, pulumi.stdout, pulumi.stderr];
  if (ours.code !== 0 || pulumi.code !== 0) throw new Error(`a preview failed (dynamic-servers: ${ours.code}, pulumi: ${pulumi.code}):\n${output.join('\n')}`);
  const plan = parsePreviewJson(pulumi.stdout);
  const names = (op: string) => plan.steps.filter((step) => step.op === op && step.type !== 'pulumi:pulumi:Stack').map((step) => step.urn.split('::').pop()!).sort();
  return { ours: JSON.parse(ours.stdout) as PlannedChanges, cli: { creates: names('create'), deletes: names('delete') }, output };
}

/** A digest of `world`'s Pulumi state (history and lock files aside): equal digests mean no preview wrote state. */
export async function stateDigest(world: EngineWorld): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await filesUnder(join(world.dataDir, 'state'))).sort()) {
    if (file.includes(join('.pulumi', 'history')) || file.includes('.pulumi/locks')) continue;
    hash.update(file).update(await readFile(file));
  }
  return hash.digest('hex');
}
