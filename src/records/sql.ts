// How the records' hand-written statements reach PostgreSQL. A read runs on an EntityManager or a transaction; a
// change runs in a Transaction, which sends the statements whose rows nobody reads (its `begin`, locks, inserts,
// updates, notifications) together with the next statement that is read, or with its `commit`. A change of a
// type's servers is then two round trips to the database instead of nine; each round trip costs both processes a
// write and a read on the socket, which is most of what a change costs. The statements every change runs are
// prepared statements (see `prepared`): each connection parses and plans them once, not at every change.
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

/**
 * A statement of fixed text (`?` placeholders of single values) that a Transaction runs as a prepared statement:
 * each connection prepares it the first time it runs there (`prepare`, in the same message), then runs it with
 * `execute` and its values, so PostgreSQL parses and plans it once per connection instead of every time. Get one
 * with `prepared`.
 */
export class PreparedStatement {
  /** The name it is prepared under on each connection. */
  readonly name: string;
  /** The text with PostgreSQL's numbered `$n` parameters, as it is prepared. */
  readonly numbered: string;
  /** How many parameters it takes. */
  readonly parameterCount: number;

  /** Use `prepared`, which gives one instance per text. */
  constructor(text: string, name: string) {
    if (text.includes('??')) throw new TypeError('a prepared statement cannot take an identifier (`??`) parameter');
    let count = 0;
    this.name = name;
    this.numbered = text.replace(/\\\?|\?/g, (placeholder) => (placeholder === '?' ? `$${++count}` : '?'));
    this.parameterCount = count;
  }
}

const preparedByText = new Map<string, PreparedStatement>();

/**
 * The PreparedStatement of `text`, one per text in the process. `text` must come from the code, never from input or
 * a count: every distinct text is prepared on every connection that runs it, and stays there for the connection's
 * life. Its values are single values: a list (an array) cannot be a parameter of a prepared statement; pass lists as
 * JSON (`?::jsonb`).
 */
export function prepared(text: string): PreparedStatement {
  let statement = preparedByText.get(text);
  if (!statement) {
    statement = new PreparedStatement(text, `dynamic_servers_${preparedByText.size + 1}`);
    preparedByText.set(text, statement);
  }
  return statement;
}

/** A statement a Transaction runs: text run as it is, or a prepared statement. */
export type Statement = string | PreparedStatement;

/** One open transaction: its statements see each other's writes and commit or roll back together. */
export interface Transaction {
  /** Runs `statement` with `params` (after what is deferred) and resolves to its rows. */
  execute<T = Row[]>(statement: Statement, params?: readonly unknown[]): Promise<T>;
  /** Runs `statements` in order (after what is deferred) in one round trip; resolves to each one's rows. */
  executeEach(statements: readonly { statement: Statement; params: readonly unknown[] }[]): Promise<Row[][]>;
  /**
   * Queues a statement whose rows are not read: it is sent, in order, with the next `execute` or with the commit,
   * and its error (which rolls the transaction back) is thrown from there.
   */
  defer(statement: Statement, params?: readonly unknown[]): void;
}

/**
 * `value` as a PostgreSQL literal, for the values of an `execute`. Strings are quoted with one `replaceAll` each
 * (MikroORM's escaper builds them a character at a time, which made most of a change's garbage: its notifications
 * carry whole server records); a string holding a backslash is an `E''` string with the backslashes doubled, which
 * reads the same whatever `standard_conforming_strings` is. Dates are ISO 8601 in UTC. Any other value is quoted by
 * `quoteOther` (MikroORM's platform).
 */
function literal(value: unknown, quoteOther: (value: unknown) => string): string {
  switch (typeof value) {
    case 'string': {
      const quoted = value.includes("'") ? value.replaceAll("'", "''") : value;
      return value.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
    }
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`a statement value must be a finite number, got ${value}`);
      return String(value);
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null || value === undefined) return 'null';
      if (value instanceof Date) return `'${value.toISOString()}'`;
      return quoteOther(value);
  }
}

/** The names of the statements prepared on each connection (only those whose `prepare` is known to have run). */
const preparedOn = new WeakMap<pg.PoolClient, Set<string>>();

/** A transaction on one pooled connection that sends its deferred statements in the same message as the next one. */
class PipelinedTransaction implements Transaction {
  readonly #client: pg.PoolClient;
  readonly #format: (query: string, params: readonly unknown[]) => string;
  readonly #quote: (value: unknown) => string;
  readonly #pending: string[] = ['begin'];
  /** Prepared on this connection. */
  readonly #prepared: Set<string>;
  /** Prepared by a pending `prepare`: they join #prepared once it has run. */
  readonly #preparing: string[] = [];

  constructor(client: pg.PoolClient, format: (query: string, params: readonly unknown[]) => string, quote: (value: unknown) => string) {
    this.#client = client;
    this.#format = format;
    this.#quote = quote;
    let prepared = preparedOn.get(client);
    if (!prepared) preparedOn.set(client, (prepared = new Set()));
    this.#prepared = prepared;
  }

  defer(statement: Statement, params: readonly unknown[] = []): void {
    this.#add(statement, params);
  }

  /** Queues `statement` (after its `prepare` when this connection lacks it); its position among the pending ones. */
  #add(statement: Statement, params: readonly unknown[]): number {
    if (typeof statement === 'string') return this.#pending.push(this.#format(statement, params)) - 1;
    if (params.length !== statement.parameterCount) {
      throw new TypeError(`prepared statement ${statement.name} takes ${statement.parameterCount} values, got ${params.length}`);
    }
    if (params.some((value) => Array.isArray(value))) throw new TypeError(`prepared statement ${statement.name} takes single values, got a list (pass lists as JSON)`);
    if (!this.#prepared.has(statement.name) && !this.#preparing.includes(statement.name)) {
      this.#pending.push(`prepare ${statement.name} as ${statement.numbered}`);
      this.#preparing.push(statement.name);
    }
    return this.#pending.push(params.length === 0 ? `execute ${statement.name}` : `execute ${statement.name}(${params.map((value) => literal(value, this.#quote)).join(', ')})`) - 1;
  }

  async execute<T = Row[]>(statement: Statement, params: readonly unknown[] = []): Promise<T> {
    const [rows] = await this.executeEach([{ statement, params }]);
    return rows as T;
  }

  async executeEach(statements: readonly { statement: Statement; params: readonly unknown[] }[]): Promise<Row[][]> {
    const positions = statements.map(({ statement, params }) => this.#add(statement, params));
    const results = await this.#flush();
    return positions.map((position) => results[position]?.rows ?? []);
  }

  /** Sends every pending statement as one simple query (each statement takes its own snapshot); resolves to their results. */
  async #flush(): Promise<pg.QueryResult<Row>[]> {
    const text = this.#pending.join(';\n');
    this.#pending.length = 0;
    // No parameters: node-postgres sends the text as one simple query, which may hold several statements.
    const results = (await this.#client.query(text)) as unknown as pg.QueryResult<Row> | pg.QueryResult<Row>[];
    for (const name of this.#preparing) this.#prepared.add(name);
    this.#preparing.length = 0;
    return Array.isArray(results) ? results : [results];
  }

  /** Sends what is pending with the commit. */
  async commit(): Promise<void> {
    this.#pending.push('commit');
    await this.#flush();
  }

  /**
   * Rolls back after a failure. A `prepare` sent with the statement that failed may or may not have run, so the
   * connection's prepared statements are all dropped, to be prepared again.
   */
  async rollback(): Promise<void> {
    if (this.#preparing.length === 0) {
      await this.#client.query('rollback');
      return;
    }
    await this.#client.query('rollback; deallocate all');
    this.#prepared.clear();
    this.#preparing.length = 0;
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
  const tx = new PipelinedTransaction(
    client,
    (query, params) => platform.formatQuery(query, params),
    (value) => platform.quoteValue(value),
  );
  try {
    const result = await work(tx);
    await tx.commit();
    return result;
  } catch (error) {
    try {
      await tx.rollback();
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
