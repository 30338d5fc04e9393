// `dynamic-servers worker` as a child process (the demo's worker, and the tests' several workers), with its JSON
// log lines collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'dynamic-servers.js');

/** One JSON line a worker wrote to stderr. */
export interface WorkerLogLine {
  at: string;
  pid: number;
  event: string;
  job?: string;
  [key: string]: unknown;
}

/** A running worker process, in a process group of its own (its pid): `process.kill(-child.pid, signal)` reaches its Pulumi CLI runs too. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Its JSON log lines so far. */
  lines: WorkerLogLine[];
  /** Its other stderr output (diagnostics). */
  text: string[];
  /** Resolves with the exit code (or the signal's name) once it ended. */
  exited: Promise<number | string>;
  /** SIGTERM, then the exit code; SIGKILL to its whole process group after `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

/** Sends `signal` to the process group of `child` (started detached, so the group is its pid); nothing once it is gone. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Starts `dynamic-servers worker <args>` with `env`; resolves once it reported `worker-started`. `onLine`, when
 * given, sees each JSON log line as it arrives. `launcher`, when given, is a command the worker runs under (e.g.
 * `unshare --uts sh -c 'hostname h && exec "$@"' sh`, for a host name of its own); it must exec the worker, so the
 * worker keeps the launcher's pid and process group.
 */
export async function startWorkerProcess(env: NodeJS.ProcessEnv, args: string[] = [], onLine?: (line: WorkerLogLine) => void, launcher: readonly string[] = []): Promise<WorkerProcess> {
  const command = [...launcher, process.execPath, BIN, 'worker', ...args];
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const lines: WorkerLogLine[] = [];
  const text: string[] = [];
  let started: () => void = () => {};
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  let buffer = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        const parsed = JSON.parse(line) as WorkerLogLine;
        lines.push(parsed);
        onLine?.(parsed);
        if (parsed.event === 'worker-started') started();
      } catch {
        text.push(line);
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const early = exited.then((code) => {
    throw new Error(`worker exited (${code}) before it started: ${text.join('\n')}`);
  });
  await Promise.race([startedPromise, early]);
  early.catch(() => {});
  return {
    child,
    lines,
    text,
    exited,
    async stop(graceMs = 60_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
