import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalWorkspace, type PulumiFn, type Stack } from '@pulumi/pulumi/automation/index.js';
import { parse } from 'yaml';
import type { Engine } from '../toolchain/engine.ts';
import { engineEnvironment, pulumiCommand } from './pulumi-adapter.ts';

/** Where the stacks of the server types live and how the engine reaches them. */
export interface StackSettings {
  engine: Engine;
  /** Directory of Pulumi.yaml (with `stackConfigDir: stacks`) and stacks/. */
  projectDir: string;
  /** State backend: `file://...` (default), `postgres://...`, or a Pulumi Cloud URL. */
  backendUrl: string;
  /** Passphrase of the passphrase secrets provider; undefined when another secrets provider is configured. */
  passphrase?: string;
}

/** The `name` of the Pulumi project in `projectDir`/Pulumi.yaml. */
export async function projectName(projectDir: string): Promise<string> {
  const project = parse(await readFile(join(projectDir, 'Pulumi.yaml'), 'utf8')) as { name?: unknown };
  if (typeof project?.name !== 'string') throw new Error(`${join(projectDir, 'Pulumi.yaml')} has no project name`);
  return project.name;
}

/**
 * Environment for CLI runs on these stacks: backend and passphrase on top of the adapter's engine environment, and
 * Pulumi's checkpoints skipped: an update writes the state once, when it ends, instead of at every step (each write
 * is the whole state, about 10 KB per server). What an update that is killed before its end did is then missing from
 * the state; the engine's recovery finds it in the cloud by label (adoption, the sweep, deletes that take not-found
 * as done), as it does for a kill between a cloud's answer and a checkpoint.
 */
export function stackEnvironment(settings: StackSettings): Record<string, string> {
  return engineEnvironment(settings.engine, {
    PULUMI_BACKEND_URL: settings.backendUrl,
    PULUMI_SKIP_CHECKPOINTS: 'true',
    ...(settings.passphrase === undefined ? {} : { PULUMI_CONFIG_PASSPHRASE: settings.passphrase }),
  });
}

/**
 * The Pulumi stack of server type `serverType` (created on first use), running `program` in this process.
 * The project, its stack config files (stacks/Pulumi.<type>.yaml) and their secrets are those of `projectDir`.
 * A `file://` backend's directory is created when missing (the CLI refuses to start in one that does not exist).
 */
export async function openTypeStack(settings: StackSettings, serverType: string, program: PulumiFn): Promise<Stack> {
  if (settings.backendUrl.startsWith('file://')) await mkdir(fileURLToPath(settings.backendUrl), { recursive: true });
  return LocalWorkspace.createOrSelectStack(
    { stackName: serverType, projectName: await projectName(settings.projectDir), program },
    { workDir: settings.projectDir, pulumiCommand: await pulumiCommand(settings.engine), envVars: stackEnvironment(settings) },
  );
}

/** The stack's config, secrets decrypted, as `namespace:key` to string, and the values that are secrets. Kept in memory only. */
export async function readStackConfig(stack: Stack): Promise<{ config: Record<string, string>; secrets: string[] }> {
  const config = await stack.getAllConfig();
  return {
    config: Object.fromEntries(Object.entries(config).map(([key, entry]) => [key, entry.value])),
    secrets: Object.values(config).flatMap((entry) => (entry.secret ? [entry.value] : [])),
  };
}
