import { expect, test } from '@jest/globals';
import { TokenBucket } from '../../src/local-cloud/rate-limiter.ts';

test('a full bucket allows `limit` requests, then refuses until one token is back, and tells when it is full again', () => {
  let now = 0;
  const bucket = new TokenBucket({ limit: 3, refillPerSecond: 2 }, () => now);
  expect([bucket.take(), bucket.take(), bucket.take()].map((decision) => [decision.allowed, decision.remaining])).toEqual([
    [true, 2],
    [true, 1],
    [true, 0],
  ]);
  const refused = bucket.take();
  expect(refused).toEqual({ allowed: false, limit: 3, remaining: 0, resetAt: 2 });
  now += 499;
  expect(bucket.take().allowed).toBe(false);
  now += 1;
  expect(bucket.take()).toMatchObject({ allowed: true, remaining: 0 });
  now += 60_000;
  expect(bucket.take()).toMatchObject({ allowed: true, remaining: 2 });
});
