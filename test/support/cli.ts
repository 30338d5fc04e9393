// Runs the `dynamic-servers` command as users do: a child process of bin/dynamic-servers.js.
import { join } from 'node:path';
import { runCommand, type CommandResult } from '../../src/toolchain/run-command.ts';

/** The command's entry point. */
export const CLI = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');

/** Runs `dynamic-servers ...args` with `env` (e.g. an EngineWorld's cliEnv) and resolves with its exit and output. */
export function runCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CommandResult> {
  return runCommand(process.execPath, [CLI, ...args], { env });
}
