import { spawn } from 'node:child_process';

/** What a finished child process printed and how it ended. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const KEEP_BYTES = 64 * 1024;

/**
 * Runs `file` with `args` (no shell) and resolves when it exits, whatever the exit code; rejects only when
 * it cannot be started (e.g. ENOENT). Keeps the last 64 KiB of each stream. `onLine` sees stderr lines live.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout = (stdout + chunk.toString()).slice(-KEEP_BYTES);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      stderr = (stderr + text).slice(-KEEP_BYTES);
      if (options.onLine) {
        const lines = (pending + text).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) options.onLine(line);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
