// How the records' hand-written statements reach PostgreSQL. A read runs on an EntityManager or a transaction; a
// change runs in a Transaction, which sends the statements whose rows nobody reads (its `begin`, locks, inserts,
// updates, notifications) together with the next statement that is read, or with its `commit`. A change of a
// type's servers is then four round trips to the database instead of nine; each round trip costs both processes a
// write and a read on the socket, which is most of what a change costs.
import type { MikroORM } from '@mikro-orm/postgresql';
import type pg from 'pg';

/** One row as PostgreSQL returns it (MikroORM's type parsers applied). */
export type Row = Record<string, unknown>;

/**
 * Runs statements with MikroORM's `?` placeholders (an array parameter becomes a list, `??` an identifier).
 * An EntityManager is one; so is a Transaction.
 */
export interface Sql {
  /** Runs `query` with `params` and resolves to its rows. */
  execute<T = Row[]>(query: string, params?: readonly unknown[]): Promise<T>;
}

/** One open transaction: its statements see each other's writes and commit or roll back together. */
export interface Transaction extends Sql {
  /**
   * Queues a statement whose rows are not read: it is sent, in order, with the next `execute` or with the commit,
   * and its error (which rolls the transaction back) is thrown from there.
   */
  defer(query: string, params?: readonly unknown[]): void;
}

/** A transaction on one pooled connection that sends its deferred statements in the same message as the next one. */
class PipelinedTransaction implements Transaction {
  readonly #client: pg.PoolClient;
  readonly #format: (query: string, params: readonly unknown[]) => string;
  readonly #pending: string[] = ['begin'];

  constructor(client: pg.PoolClient, format: (query: string, params: readonly unknown[]) => string) {
    this.#client = client;
    this.#format = format;
  }

  defer(query: string, params: readonly unknown[] = []): void {
    this.#pending.push(this.#format(query, params));
  }

  async execute<T = Row[]>(query: string, params: readonly unknown[] = []): Promise<T> {
    this.defer(query, params);
    return (await this.#flush()) as T;
  }

  /** Sends every pending statement as one simple query (each statement takes its own snapshot); the last one's rows. */
  async #flush(): Promise<Row[]> {
    const text = this.#pending.join(';\n');
    this.#pending.length = 0;
    // No parameters: node-postgres sends the text as one simple query, which may hold several statements.
    const results = (await this.#client.query(text)) as unknown as pg.QueryResult<Row> | pg.QueryResult<Row>[];
    const last = Array.isArray(results) ? results[results.length - 1] : results;
    return last?.rows ?? [];
  }

  /** Sends what is pending with the commit. */
  async commit(): Promise<void> {
    this.#pending.push('commit');
    await this.#flush();
  }
}

/**
 * Runs `work` in one transaction on a connection of `orm`'s pool and commits it; rolls back and rethrows when
 * `work` or the commit throws. Database errors are thrown as MikroORM's typed exceptions (e.g.
 * UniqueConstraintViolationException), as an EntityManager would throw them.
 */
export async function inTransaction<T>(orm: MikroORM, work: (tx: Transaction) => Promise<T>): Promise<T> {
  const pool = await orm.em.getConnection().getNativeClient();
  const platform = orm.em.getPlatform();
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const tx = new PipelinedTransaction(client, (query, params) => platform.formatQuery(query, params));
    const result = await work(tx);
    await tx.commit();
    return result;
  } catch (error) {
    try {
      await client.query('rollback');
    } catch (rollbackError) {
      // The connection is unusable: the pool drops it rather than handing it out again.
      broken = rollbackError as Error;
    }
    throw isDatabaseError(error) ? orm.em.getDriver().convertException(error) : error;
  } finally {
    client.release(broken);
  }
}

/** True for an error PostgreSQL sent (it has an SQLSTATE code), which MikroORM's converter knows how to type. */
function isDatabaseError(error: unknown): error is Error {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && 'severity' in error;
}
