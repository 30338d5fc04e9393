/** The first verification after a server starts or is deleted runs this soon (milliseconds). */
export const FIRST_VERIFY_DELAY_MS = 1000;

/** Verification never waits longer than this between passes while a server is pending (milliseconds). */
export const MAX_VERIFY_DELAY_MS = 20_000;

/** The shortest wait between passes (milliseconds). */
export const MIN_VERIFY_DELAY_MS = 250;

/**
 * How long to wait before the next verification pass, given how long ago the most recent pending server
 * entered its status: a quarter of that age, between MIN_VERIFY_DELAY_MS and MAX_VERIFY_DELAY_MS. Fresh
 * transitions are polled quickly, long-running ones back off to the maximum.
 */
export function nextVerifyDelay(youngestPendingAgeMs: number): number {
  const quarter = Math.max(0, youngestPendingAgeMs) / 4;
  return Math.round(Math.min(MAX_VERIFY_DELAY_MS, Math.max(MIN_VERIFY_DELAY_MS, quarter)));
}
