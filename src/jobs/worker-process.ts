// `dynamic-servers worker` as a child process (the demo's worker, and the tests' several workers), with its JSON
// log lines (pino) collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-layout.ts';

const BIN = join(PACKAGE_ROOT, 'bin', 'dynamic-servers.js');

/** How to start the command: this package's bin on this Node by default, or another command (e.g. a project's `npx dynamic-servers`). */
export interface WorkerLaunch {
  /** The command and its first arguments; `worker` and the worker's arguments follow. */
  command: [string, ...string[]];
  /** Its working directory (default: this process's). */
  cwd?: string;
}

/** One JSON line a worker wrote to stderr (see createLogger): `time` is ISO 8601, `event` names what happened. */
export interface WorkerLogLine {
  time: string;
  level: string;
  pid: number;
  event: string;
  msg: string;
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
  /** Base URL of its metrics, health and status page server. */
  httpUrl: string;
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

/** How a worker is started by default: this package's bin on this process's Node. */
export const DEFAULT_WORKER_LAUNCH: WorkerLaunch = { command: [process.execPath, BIN] };

/**
 * Starts `dynamic-servers worker <args>` with `env` (through `launch` when given); resolves once it reported
 * `worker-started`. Unless `args` choose an `--http-port`, its HTTP server takes any free port (several workers
 * share a machine). `onLine`, when given, sees each JSON log line as it arrives.
 */
export async function startWorkerProcess(
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  onLine?: (line: WorkerLogLine) => void,
  launch: WorkerLaunch = DEFAULT_WORKER_LAUNCH,
): Promise<WorkerProcess> {
  const [command, ...first] = launch.command;
  const port = args.includes('--http-port') ? [] : ['--http-port', '0'];
  const child = spawn(command, [...first, 'worker', ...port, ...args], { env, cwd: launch.cwd, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const lines: WorkerLogLine[] = [];
  const text: string[] = [];
  let started: (line: WorkerLogLine) => void = () => {};
  const startedPromise = new Promise<WorkerLogLine>((resolve) => (started = resolve));
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
        if (parsed.event === 'worker-started') started(parsed);
      } catch {
        text.push(line);
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const early = exited.then((code) => {
    throw new Error(`worker exited (${code}) before it started: ${text.join('\n')}`);
  });
  const startLine = await Promise.race([startedPromise, early]);
  early.catch(() => {});
  return {
    child,
    lines,
    text,
    httpUrl: String(startLine.http),
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
