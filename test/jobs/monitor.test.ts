// The monitor job asks the user's determineServerCount for each type on its interval and applies the answer
// with ensure(); a callback that throws or answers no number changes nothing.
import { afterAll, expect, test } from '@jest/globals';
import { startJobWorld, waitForStatus, type JobWorld } from './support/job-world.ts';

let jobs: JobWorld | undefined;

afterAll(async () => {
  await jobs?.close();
});

test('determineServerCount drives the count of its type through the jobs', async () => {
  const asked: string[] = [];
  let answer: number | undefined = 2;
  let fail = false;
  jobs = await startJobWorld({
    cloud: { delays: { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 } },
    worker: {
      monitorIntervalMs: 500,
      determineServerCount: (type) => {
        asked.push(type);
        if (fail) throw new Error('metrics unavailable');
        return answer;
      },
    },
  });
  await waitForStatus(jobs.records, 'demo', 'running', 2);
  expect(new Set(asked)).toEqual(new Set(['demo']));

  answer = undefined;
  fail = true;
  const calls = asked.length;
  while (asked.length < calls + 2) await new Promise((resolve) => setTimeout(resolve, 100));
  expect(await jobs.records.desiredState('demo')).toMatchObject({ desiredCount: 2 });

  fail = false;
  answer = 1;
  await waitForStatus(jobs.records, 'demo', 'deleted', 1);
  expect(await jobs.records.provisionedCount('demo')).toBe(1);
});
