// Which jobs are running, and where: each worker holds a PostgreSQL session advisory lock per job it runs, on one
// session of its own. PostgreSQL drops a dead worker's locks with its session (even after SIGKILL), so the other
// workers can tell, within seconds, a job that Agenda still shows locked but that nobody runs any more.
import pg from 'pg';

/** Key space of the job-run locks (two-key advisory locks; records, stacks and the job store's schema use others). */
const JOB_RUN_LOCK_SPACE = 1_146_290_203;

/** How often `hold` tries again while another worker runs the same job (milliseconds). */
const RETRY_MS = 200;

/**
 * The job-run locks of one worker, on one PostgreSQL session. A job's handler runs while its worker holds the
 * job's lock, so no two workers ever run one job at once (even if Agenda hands it to both), and `running` tells any
 * process which jobs a live worker is running. A session that breaks loses its locks: the next call opens another.
 */
export class JobRunLocks {
  readonly #databaseUrl: string;
  #session: Promise<pg.Client> | undefined;
  /** The last query sent on the session: the next one waits for it, since a client answers one query at a time. */
  #lastQuery: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(databaseUrl: string) {
    this.#databaseUrl = databaseUrl;
  }

  /** Opens the session on the PostgreSQL database at `databaseUrl` (the records' database). */
  static async open(databaseUrl: string): Promise<JobRunLocks> {
    const locks = new JobRunLocks(databaseUrl);
    await locks.#client();
    return locks;
  }

  /** Runs `work` holding the run lock of job `name`; while another session holds it, waits for it first. */
  async hold<T>(name: string, work: () => Promise<T>): Promise<T> {
    for (;;) {
      const { rows } = await this.#query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [JOB_RUN_LOCK_SPACE, name]);
      if (rows[0]?.locked) break;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
    try {
      return await work();
    } finally {
      // On a broken or closed session the lock is gone already.
      await this.#query('SELECT pg_advisory_unlock($1, hashtext($2))', [JOB_RUN_LOCK_SPACE, name]).catch(() => {});
    }
  }

  /** The names among `names` whose run lock some session of this database holds now, i.e. jobs a live worker runs. */
  async running(names: readonly string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const { rows } = await this.#query<{ name: string }>(
      `SELECT n.name FROM unnest($2::text[]) AS n(name)
        WHERE EXISTS (SELECT 1 FROM pg_locks l
                       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                         AND l.classid = $1::int::oid AND l.objid = hashtext(n.name)::oid)`,
      [JOB_RUN_LOCK_SPACE, [...names]],
    );
    return new Set(rows.map((row) => row.name));
  }

  /** Ends the session, which releases every lock still held. */
  async close(): Promise<void> {
    this.#closed = true;
    const session = await this.#session?.catch(() => undefined);
    this.#session = undefined;
    await session?.end().catch(() => {});
  }

  /** Sends `text` on the session once every query sent before it was answered. */
  #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const sent = this.#lastQuery.then(async () => (await this.#client()).query<R>(text, values));
    this.#lastQuery = sent.catch(() => {});
    return sent;
  }

  #client(): Promise<pg.Client> {
    if (this.#closed) return Promise.reject(new Error('the job-run locks are closed'));
    if (this.#session) return this.#session;
    const client = new pg.Client({ connectionString: this.#databaseUrl });
    const forget = () => {
      if (this.#session === session) this.#session = undefined;
    };
    // A broken session has lost its locks; forgetting it makes the next call open another.
    client.on('error', forget);
    client.on('end', forget);
    const session = client.connect().then(() => client);
    session.catch(forget);
    this.#session = session;
    return session;
  }
}
