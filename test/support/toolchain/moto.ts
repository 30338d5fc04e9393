// moto, the AWS emulator the AWS provider's API side is tested against: installed once per version into a Python
// virtual environment under the project's cache, and started on 127.0.0.1 on a port the kernel picked.
import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../../src/db/free-port.ts';
import { ToolchainError } from '../../../src/toolchain/errors.ts';
import { cacheRoot } from '../../../src/toolchain/paths.ts';
import { runCommand } from '../../../src/toolchain/run-command.ts';

/** The moto release the tests run against. */
export const MOTO_VERSION = '5.2.5';

/** moto cannot be installed on this machine; `message` says what to do. */
export class MotoUnavailableError extends ToolchainError {
  override name = 'MotoUnavailableError';
}

/** The moto server did not start or did not answer; `log` holds the tail of its output. */
export class MotoStartError extends ToolchainError {
  override name = 'MotoStartError';
  readonly log: string;

  constructor(message: string, log: string) {
    super(message);
    this.log = log;
  }
}

/** An installed moto: the virtual environment that holds `moto[server]` of `version`. */
export interface MotoInstallation {
  version: string;
  /** The virtual environment's directory (`<cacheRoot>/moto/<version>`). */
  venvDir: string;
  /** The environment's Python, which runs the server (`python -m moto.server` is the `moto_server` command). */
  python: string;
}

/** How to install moto. */
export interface InstallMotoOptions {
  version?: string;
  /** The Python that creates the environment (default: `$PYTHON`, else `python3` on PATH). */
  python?: string;
  env?: NodeJS.ProcessEnv;
  /** Receives progress lines of a cold install. */
  log?: (line: string) => void;
}

const MARKER = 'installed-by.json';

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** The installation in `venvDir` when it is complete (marker of `version` written last, Python present). */
async function completeInstallation(venvDir: string, version: string): Promise<MotoInstallation | undefined> {
  const marker = await readFile(join(venvDir, MARKER), 'utf8').catch(() => undefined);
  if (!marker || (JSON.parse(marker) as { version?: string }).version !== version) return undefined;
  const python = join(venvDir, 'bin', 'python');
  return (await isExecutable(python)) ? { version, venvDir, python } : undefined;
}

/**
 * Makes `moto[server]==<version>` available and returns it. A warm call only reads the marker of
 * `<cacheRoot>/moto/<version>/` (no process is started). A cold call creates a virtual environment next to it,
 * pip-installs moto into it and renames it into place, so an interrupted install is never taken for a complete
 * one and two concurrent installs cannot mix. Throws MotoUnavailableError, with a sentence saying what to do,
 * when Python, its venv module or pip is missing, or pip fails.
 */
export async function installMoto(options: InstallMotoOptions = {}): Promise<MotoInstallation> {
  const env = options.env ?? process.env;
  const version = options.version ?? MOTO_VERSION;
  const log = options.log ?? (() => {});
  const motoRoot = join(cacheRoot(env), 'moto');
  const venvDir = join(motoRoot, version);
  const existing = await completeInstallation(venvDir, version);
  if (existing) return existing;

  const basePython = options.python ?? (env.PYTHON || 'python3');
  await mkdir(motoRoot, { recursive: true });
  const partial = join(motoRoot, `.${version}.partial-${process.pid}-${Date.now()}`);
  try {
    log(`creating a Python virtual environment for moto ${version} with ${basePython}`);
    let created;
    try {
      created = await runCommand(basePython, ['-m', 'venv', partial], { env });
    } catch {
      throw new MotoUnavailableError(
        `moto ${version} (the AWS emulator of the AWS provider's tests) needs Python 3, and '${basePython}' cannot be run: ` +
          'install Python 3.9 or newer with pip, or set PYTHON to its path.',
      );
    }
    if (created.code !== 0) {
      throw new MotoUnavailableError(
        `'${basePython} -m venv' failed, so moto ${version} cannot be installed: install Python's venv module ` +
          `(on Debian or Ubuntu: apt-get install python3-venv). ${created.stderr.trim().slice(-500)}`,
      );
    }
    const python = join(partial, 'bin', 'python');
    log(`installing moto[server]==${version} with pip`);
    const installed = await runCommand(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', `moto[server]==${version}`], { env });
    if (installed.code !== 0) {
      throw new MotoUnavailableError(
        `pip could not install moto[server]==${version}: check that the Python package index is reachable ` +
          `(or set PIP_INDEX_URL to a mirror) and run the tests again. pip said: ${installed.stderr.trim().slice(-1500)}`,
      );
    }
    await writeFile(join(partial, MARKER), `${JSON.stringify({ version, installedAt: new Date().toISOString() })}\n`);
    await rm(venvDir, { recursive: true, force: true });
    try {
      await rename(partial, venvDir);
    } catch (error) {
      // A concurrent install finished first: use it.
      const winner = await completeInstallation(venvDir, version);
      if (winner) return winner;
      throw error;
    }
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  const result = await completeInstallation(venvDir, version);
  if (!result) throw new MotoUnavailableError(`moto ${version} was installed into ${venvDir} but its Python is missing there; delete the directory and run again.`);
  return result;
}

/** A running moto server. */
export interface MotoServer {
  /** Base URL of every AWS service it emulates, e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  /** The server's process id. */
  pid: number;
  /** Stops the server and resolves once its process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

/** How to start moto. */
export interface StartMotoOptions {
  /** Default: installMoto() with default options. */
  installation?: MotoInstallation;
  /** Give up when the server does not answer within this long (default 60 s). */
  startTimeoutMs?: number;
}

const KEEP_LOG = 16 * 1024;

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/** One attempt at starting the server on `port`; rejects with MotoStartError when it exits or does not answer. */
async function startOn(installation: MotoInstallation, port: number, timeoutMs: number): Promise<MotoServer> {
  const child = spawn(installation.python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP_LOG);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) throw new MotoStartError(`moto could not be started with ${installation.python}: ${spawnError.message}`, output);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new MotoStartError(`moto exited (${child.exitCode ?? child.signalCode}) before answering on ${endpoint}`, output);
    }
    try {
      const answer = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1000) });
      await answer.arrayBuffer();
      if (answer.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new MotoStartError(`moto did not answer on ${endpoint} within ${timeoutMs} ms`, output);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    pid: child.pid!,
    stop: () => (stopping ??= stopChild(child)),
  };
}

/**
 * Starts `moto_server -H 127.0.0.1 -p <port>` from the installation on a port the kernel picked (another port
 * is tried when that one was taken meanwhile), waits until it answers, and returns its endpoint and `stop`. The
 * server starts empty. Throws MotoStartError with the server's output when it does not come up.
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const installation = options.installation ?? (await installMoto());
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOn(installation, await freePort(), options.startTimeoutMs ?? 60_000);
    } catch (error) {
      lastError = error;
      if (!(error instanceof MotoStartError) || !/address already in use/i.test(error.log)) throw error;
    }
  }
  throw lastError;
}
