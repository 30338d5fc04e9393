import pg from 'pg';

/** Key space of the stack locks (two-key advisory locks; the records use other spaces). */
const STACK_LOCK_SPACE = 1_146_290_101;

/** Key space of the reboot-sending locks (one per server type). */
const REBOOT_LOCK_SPACE = 1_146_290_102;

/** A held stack lock; `release()` gives it back (also when the session ends, e.g. the process dies). */
export interface HeldStackLock {
  release(): Promise<void>;
}

/**
 * Takes the two-key session advisory lock (`space`, hash of `name`) on a connection of its own, waiting until it
 * is free. A worker that dies (even by SIGKILL) releases it when PostgreSQL notices the closed connection.
 */
async function lockOnOwnConnection(databaseUrl: string, space: number, name: string): Promise<HeldStackLock> {
  const client = new pg.Client({ connectionString: databaseUrl });
  // A lost connection means PostgreSQL released the lock; release() then fails and says so. Without a listener
  // the client's 'error' event would end the process.
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [space, name]);
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
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [space, name]);
      } finally {
        await client.end();
      }
    },
  };
}

/**
 * Takes the lock of server type `serverType`'s stack, shared by every process on the database: only its holder
 * runs Pulumi on that stack, so two updates of one stack never overlap, while other types proceed in parallel.
 * Waits until it is free. A session-level advisory lock on its own connection, so a worker that dies (even by
 * SIGKILL) releases it when PostgreSQL notices the closed connection.
 */
export function lockStack(databaseUrl: string, serverType: string): Promise<HeldStackLock> {
  return lockOnOwnConnection(databaseUrl, STACK_LOCK_SPACE, serverType);
}

/**
 * Takes the reboot lock of server type `serverType` (same kind of lock as lockStack, another key space): a verify
 * pass over rebooting servers holds it from reading its rows to its end, so no pass of any process observes a
 * server whose reboot another pass claimed but the cloud has not accepted yet (and reads `running` from before
 * the reboot). Independent of the stack lock, so verification never waits for a `pulumi up`.
 */
export function lockReboots(databaseUrl: string, serverType: string): Promise<HeldStackLock> {
  return lockOnOwnConnection(databaseUrl, REBOOT_LOCK_SPACE, serverType);
}
