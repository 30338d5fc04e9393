import type { Transaction } from './sql.ts';

/** Statuses whose records may be pruned: the server is gone or was given up on. */
export const PRUNABLE_STATUSES = ['deleted', 'errored'] as const;

/**
 * Deletes, in the caller's transaction, the records (and their status history) of servers that have been
 * deleted or errored since before `before`. Returns how many server records went.
 */
export async function pruneServerRecords(tx: Transaction, before: Date): Promise<number> {
  const where = `"status" in ('deleted', 'errored') and "status_updated_at" < ?`;
  await tx.execute(`delete from "server_status_change" where "server_id" in (select "id" from "server" where ${where})`, [before]);
  const deleted = await tx.execute<{ id: number }[]>(`delete from "server" where ${where} returning "id"`, [before]);
  return deleted.length;
}
