import pg from 'pg';

/** Key space of the stack locks (two-key advisory locks; the records use other spaces). */
const STACK_LOCK_SPACE = 1_146_290_101;

/** A held stack lock; `release()` gives it back (also when the session ends, e.g. the process dies). */
export interface HeldStackLock {
  release(): Promise<void>;
}

/**
 * Takes the lock of server type `serverType`'s stack, shared by every process on the database: only its holder
 * runs Pulumi on that stack, so two updates of one stack never overlap, while other types proceed in parallel.
 * Waits until it is free. A session-level advisory lock on its own connection, so a worker that dies (even by
 * SIGKILL) releases it when PostgreSQL notices the closed connection.
 */
export async function lockStack(databaseUrl: string, serverType: string): Promise<HeldStackLock> {
  const client = new pg.Client({ connectionString: databaseUrl });
  // A lost connection means PostgreSQL released the lock; release() then fails and says so. Without a listener
  // the client's 'error' event would end the process.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [STACK_LOCK_SPACE, serverType]);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [STACK_LOCK_SPACE, serverType]);
      } finally {
        await client.end();
      }
    },
  };
}
