// FerretDB, the MongoDB-wire server the MongoDB job store is tested against (no MongoDB server is installable
// here): built once per version from the Go module proxy into the project's cache, and started on 127.0.0.1 with
// SQLite storage in a directory the caller owns.
import { spawn } from 'node:child_process';
import { access, constants, cp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../../src/db/free-port.ts';
import { ToolchainError } from '../../../src/toolchain/errors.ts';
import { goVersion } from '../../../src/toolchain/go-build.ts';
import { cacheRoot } from '../../../src/toolchain/paths.ts';
import { runCommand } from '../../../src/toolchain/run-command.ts';

/** The FerretDB release (v1: PostgreSQL or SQLite storage) the tests run against. */
export const FERRETDB_VERSION = '1.24.2';
const MODULE = 'github.com/FerretDB/FerretDB';

/** FerretDB cannot be built or started here; `message` says why and what to do. */
export class FerretDbUnavailableError extends ToolchainError {
  override name = 'FerretDbUnavailableError';
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/**
 * The `ferretdb` binary of `version`, built on first use: `go mod download` of the module, a writable copy of
 * it with `build/version/version.txt` written (the module zip lacks it and the binary panics without it), then
 * `go build ./cmd/ferretdb` into `<cacheRoot>/ferretdb/v<version>/bin`, renamed into place when complete.
 * Throws FerretDbUnavailableError without Go or when the build fails.
 */
export async function installFerretDb(options: { version?: string; env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {}): Promise<string> {
  const env = options.env ?? process.env;
  const version = options.version ?? FERRETDB_VERSION;
  const root = join(cacheRoot(env), 'ferretdb');
  const binary = join(root, `v${version}`, 'bin', 'ferretdb');
  if (await isExecutable(binary)) return binary;
  if (!(await goVersion(env))) throw new FerretDbUnavailableError(`FerretDB ${version} is built from the Go module proxy and needs Go on PATH; install Go 1.22 or newer`);

  const partial = join(root, `.v${version}.partial-${process.pid}-${Date.now()}`);
  const goEnv = { ...env, GOFLAGS: '-mod=mod' };
  try {
    await mkdir(join(partial, 'bin'), { recursive: true });
    options.log?.(`downloading ${MODULE}@v${version} from the Go module proxy`);
    const downloaded = await runCommand('go', ['mod', 'download', '-json', `${MODULE}@v${version}`], { cwd: partial, env: goEnv });
    if (downloaded.code !== 0) throw new FerretDbUnavailableError(`go mod download of ${MODULE}@v${version} failed: ${downloaded.stderr.trim().slice(-1000)}`);
    const moduleDir = (JSON.parse(downloaded.stdout) as { Dir?: string }).Dir;
    if (!moduleDir) throw new FerretDbUnavailableError(`go mod download of ${MODULE}@v${version} named no directory`);
    const source = join(partial, 'src');
    await cp(moduleDir, source, { recursive: true });
    await runCommand('chmod', ['-R', 'u+w', source]);
    await writeFile(join(source, 'build', 'version', 'version.txt'), `v${version}\n`);
    options.log?.(`building ferretdb v${version}`);
    const built = await runCommand('go', ['build', '-o', join(partial, 'bin', 'ferretdb'), './cmd/ferretdb'], { cwd: source, env: goEnv });
    if (built.code !== 0) throw new FerretDbUnavailableError(`go build of ferretdb v${version} failed: ${built.stderr.trim().slice(-1500)}`);
    await rm(source, { recursive: true, force: true });
    await rename(partial, join(root, `v${version}`)).catch(async (error: unknown) => {
      if (!(await isExecutable(binary))) throw error;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return binary;
}

/** A running FerretDB. */
export interface FerretDbServer {
  /** `mongodb://127.0.0.1:<port>/<database>`. */
  url: string;
  pid: number;
  /** Stops the server and resolves once its process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Starts `binary` on 127.0.0.1 with SQLite storage and its state file under `dataDir`; resolves once it accepts connections. */
export async function startFerretDb(binary: string, dataDir: string, database = 'dynamic_servers'): Promise<FerretDbServer> {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const child = spawn(binary, ['--handler=sqlite', `--sqlite-url=file:${dataDir}/`, `--state-dir=${dataDir}`, `--listen-addr=127.0.0.1:${port}`, '--telemetry=disable', '--log-level=error'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ended = false;
  void exited.then(() => (ended = true));
  const deadline = Date.now() + 20_000;
  while (!(await accepts(port))) {
    if (ended || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new FerretDbUnavailableError(`ferretdb did not start on 127.0.0.1:${port}: ${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `mongodb://127.0.0.1:${port}/${database}`,
    pid: child.pid!,
    async stop() {
      if (!ended) child.kill('SIGTERM');
      await exited;
    },
  };
}
