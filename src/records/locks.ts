import { prepared, type Transaction } from './sql.ts';

// Two-key advisory locks: the first key says what kind of name the second (its hash) belongs to.
const SERVER_TYPE_LOCK_SPACE = 1_146_290_001;
const PROVIDER_LOCK_SPACE = 1_146_290_002;

const TAKE_LOCK = prepared('select pg_advisory_xact_lock(?, hashtext(?))');

/**
 * Takes the transaction-scoped lock of a server type: every change to the type's servers or desired state holds
 * it, so changes to one type run one after the other across all processes. Released at commit or rollback. Sent
 * with the transaction's next statement (see Transaction.defer): what that statement reads, it reads under the lock.
 * A transaction that takes several types' locks takes them in the order of their names, before it writes anything,
 * so two such transactions cannot wait for each other.
 */
export function lockServerType(tx: Transaction, serverType: string): void {
  tx.defer(TAKE_LOCK, [SERVER_TYPE_LOCK_SPACE, serverType]);
}

/**
 * Takes the transaction-scoped lock of a provider, after the type's: every change that adds servers to a provider
 * with a limit holds it, so the provider's count cannot move under the check. Always taken after type locks (a
 * transaction that takes several takes them in the order of their names) and never the other way round, so the two
 * cannot deadlock.
 */
export function lockProvider(tx: Transaction, provider: string): void {
  tx.defer(TAKE_LOCK, [PROVIDER_LOCK_SPACE, provider]);
}
