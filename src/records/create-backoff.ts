// The back-off of a server type's creates. After repeated creates that hang or error (a broken template, a
// sold-out cloud, a spent quota), new servers of the type wait longer and longer, so the engine does not create
// and delete servers all night. The state lives on the type's desired-state document and is written under the
// type's lock, so every worker agrees; a server of the type reaching running, or a new published version of the
// type, ends it.
import type { Transaction } from './sql.ts';

/** The back-off schedule (see createPauseSeconds). */
export const CREATE_BACKOFF = {
  /** Failures in a row that are replaced at once: one bad boot costs no waiting. */
  toleratedFailures: 1,
  /** The pause after the first failure beyond the tolerated ones; each further failure doubles it. */
  firstPauseSeconds: 30,
  /** The longest pause. */
  maxPauseSeconds: 1800,
} as const;

/**
 * Seconds creates of a type pause after `failures` creates in a row hung or errored: none up to
 * CREATE_BACKOFF.toleratedFailures, then 30, 60, 120, ... doubling up to 1800 (30 minutes).
 */
export function createPauseSeconds(failures: number): number {
  const beyond = failures - CREATE_BACKOFF.toleratedFailures;
  if (beyond <= 0) return 0;
  return Math.min(CREATE_BACKOFF.maxPauseSeconds, CREATE_BACKOFF.firstPauseSeconds * 2 ** Math.min(beyond - 1, 20));
}

/** What the `backingOff` event carries: a type's creates are paused after repeated failures. */
export interface CreateBackoff {
  serverType: string;
  /** Creates of the type that hung or errored since one of its servers last reached running. */
  failures: number;
  /** How long this pause lasts. */
  pauseSeconds: number;
  /** No server of the type is created before this time. */
  until: Date;
}

/** True when `state` says creates are paused at `now`. */
export function createsPaused(state: { createsPausedUntil: Date | null }, now: Date): boolean {
  return state.createsPausedUntil !== null && state.createsPausedUntil.getTime() > now.getTime();
}

/**
 * Counts one create of `serverType` that hung or errored, in the caller's transaction under the type's lock, and
 * pauses the type's creates for createPauseSeconds of the new count (never shortening a pause in force). Returns
 * the back-off it started or extended, or null while the failures are within the tolerated ones.
 */
export async function countCreateFailure(tx: Transaction, serverType: string, now: Date): Promise<CreateBackoff | null> {
  const rows = await tx.execute<{ create_failures: number }[]>(
    `update "desired_state" set "create_failures" = "create_failures" + 1 where "server_type" = ? returning "create_failures"`,
    [serverType],
  );
  if (rows.length === 0) return null;
  const failures = Number(rows[0]!.create_failures);
  const pauseSeconds = createPauseSeconds(failures);
  if (pauseSeconds === 0) return null;
  const until = new Date(now.getTime() + pauseSeconds * 1000);
  await tx.execute(
    `update "desired_state" set "creates_paused_until" = greatest(coalesce("creates_paused_until", ?::timestamptz), ?::timestamptz) where "server_type" = ?`,
    [until, until, serverType],
  );
  return { serverType, failures, pauseSeconds, until };
}

/**
 * Ends the back-off of `serverType` in the caller's transaction (a server of it reached running, or a new version
 * of its configuration was published): failures back to 0, creates no longer paused. Sent with the transaction's
 * next statement (see Transaction.defer).
 */
export function clearCreateBackoff(tx: Transaction, serverType: string): void {
  tx.defer(
    `update "desired_state" set "create_failures" = 0, "creates_paused_until" = null ` +
      `where "server_type" = ? and ("create_failures" > 0 or "creates_paused_until" is not null)`,
    [serverType],
  );
}
