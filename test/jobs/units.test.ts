// The small pure parts of the job layer: verification backoff and the choice of job store.
import { expect, test } from '@jest/globals';
import { UnsupportedJobStoreError } from '../../src/jobs/errors.ts';
import { jobStoreKind } from '../../src/jobs/job-store.ts';
import { MAX_VERIFY_DELAY_MS, MIN_VERIFY_DELAY_MS, nextVerifyDelay } from '../../src/jobs/verify-polling.ts';

test('verification polls fast after a transition and backs off to at most 20 s', () => {
  expect(nextVerifyDelay(0)).toBe(MIN_VERIFY_DELAY_MS);
  expect(nextVerifyDelay(4000)).toBe(1000);
  expect(nextVerifyDelay(40_000)).toBe(10_000);
  expect(nextVerifyDelay(10 * 60_000)).toBe(MAX_VERIFY_DELAY_MS);
  expect(MAX_VERIFY_DELAY_MS).toBe(20_000);
});

test('the job store is chosen by URL scheme; unknown schemes are refused', () => {
  expect(jobStoreKind('postgres://user@127.0.0.1:5432/db')).toBe('postgres');
  expect(jobStoreKind('postgresql://127.0.0.1/db')).toBe('postgres');
  expect(jobStoreKind('mongodb://127.0.0.1:27017/jobs')).toBe('mongodb');
  expect(() => jobStoreKind('redis://127.0.0.1')).toThrow(UnsupportedJobStoreError);
  expect(() => jobStoreKind('not a url')).toThrow(UnsupportedJobStoreError);
});
