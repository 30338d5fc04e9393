// The queue that runs count changes in turns (one server type's one turn at a time, at most so many turns at once),
// with plain functions in place of transactions: which changes run alone, which together, and which caller gets which
// outcome.
import { describe, expect, test } from '@jest/globals';
import { ChangeQueue, type ChangeOutcome } from '../../src/records/change-queue.ts';

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((done, fail) => {
    resolve = done;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** A queue whose turns wait until the test settles them; records what ran alone and what together. */
function controlledQueue(maxTogether: number, maxRunning = 100) {
  const alone: { change: string; settle: ReturnType<typeof deferred<string>> }[] = [];
  const together: { changes: string[]; settle: ReturnType<typeof deferred<ChangeOutcome<string>[]>> }[] = [];
  const queue = new ChangeQueue<string, string>({
    runAlone: (change) => {
      const settle = deferred<string>();
      alone.push({ change, settle });
      return settle.promise;
    },
    runTogether: (changes) => {
      const settle = deferred<ChangeOutcome<string>[]>();
      together.push({ changes, settle });
      return settle.promise;
    },
    maxTogether,
    maxRunning,
  });
  return { queue, alone, together };
}

/** Lets the queue's promise callbacks run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ChangeQueue', () => {
  test('the first change of a key runs alone at once; those made meanwhile run together next, in order', async () => {
    const { queue, alone, together } = controlledQueue(10);
    const first = queue.run('worker', 'a');
    const later = ['b', 'c', 'd'].map((change) => queue.run('worker', change));
    expect(alone.map((run) => run.change)).toEqual(['a']);
    expect(together).toEqual([]);

    alone[0]!.settle.resolve('a done');
    await expect(first).resolves.toBe('a done');
    await settled();
    expect(together.map((turn) => turn.changes)).toEqual([['b', 'c', 'd']]);

    together[0]!.settle.resolve([
      { ok: true, value: 'b done' },
      { ok: false, error: new Error('c refused') },
      { ok: true, value: 'd done' },
    ]);
    const outcomes = await Promise.allSettled(later);
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message))).toEqual(['b done', 'c refused', 'd done']);

    // The key is idle again: the next change runs alone at once.
    const next = queue.run('worker', 'e');
    expect(alone.map((run) => run.change)).toEqual(['a', 'e']);
    alone[1]!.settle.resolve('e done');
    await expect(next).resolves.toBe('e done');
  });

  test('at most maxTogether changes run in one turn; a turn of one runs alone', async () => {
    const { queue, alone, together } = controlledQueue(2);
    const calls = ['a', 'b', 'c', 'd', 'e', 'f'].map((change) => queue.run('worker', change));
    alone[0]!.settle.resolve('a done');
    await settled();
    expect(together.map((turn) => turn.changes)).toEqual([['b', 'c']]);
    together[0]!.settle.resolve([{ ok: true, value: 'b done' }, { ok: true, value: 'c done' }]);
    await settled();
    expect(together.map((turn) => turn.changes)).toEqual([['b', 'c'], ['d', 'e']]);
    together[1]!.settle.resolve([{ ok: true, value: 'd done' }, { ok: true, value: 'e done' }]);
    await settled();
    expect(alone.map((run) => run.change)).toEqual(['a', 'f']);
    alone[1]!.settle.reject(new Error('f refused'));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message))).toEqual(['a done', 'b done', 'c done', 'd done', 'e done', 'f refused']);
  });

  test('changes of different keys do not wait for each other', async () => {
    const { queue, alone } = controlledQueue(10);
    const worker = queue.run('worker', 'w');
    const builder = queue.run('builder', 'b');
    expect(alone.map((run) => run.change)).toEqual(['w', 'b']);
    alone[1]!.settle.resolve('b done');
    await expect(builder).resolves.toBe('b done');
    alone[0]!.settle.resolve('w done');
    await expect(worker).resolves.toBe('w done');
  });

  test('when a turn fails as a whole, each of its changes gets the error', async () => {
    const { queue, alone, together } = controlledQueue(10);
    const calls = ['a', 'b', 'c'].map((change) => queue.run('worker', change));
    alone[0]!.settle.resolve('a done');
    await settled();
    together[0]!.settle.reject(new Error('connection lost while committing'));
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message))).toEqual([
      'a done',
      'connection lost while committing',
      'connection lost while committing',
    ]);
  });

  test('changes that wait for a turn to run run together, whatever their keys: by key in sort order, each key\'s in the order made', async () => {
    const { queue, alone, together } = controlledQueue(10, 1);
    const first = queue.run('worker', 'w1');
    const waiting = [queue.run('worker', 'w2'), queue.run('builder', 'b1'), queue.run('worker', 'w3'), queue.run('mailer', 'm1')];
    expect(alone.map((run) => run.change)).toEqual(['w1']);
    alone[0]!.settle.resolve('w1 done');
    await expect(first).resolves.toBe('w1 done');
    await settled();
    expect(together.map((turn) => turn.changes)).toEqual([['b1', 'm1', 'w2', 'w3']]);
    together[0]!.settle.resolve(['b1', 'm1', 'w2', 'w3'].map((change) => ({ ok: true, value: `${change} done` })));
    await expect(Promise.all(waiting)).resolves.toEqual(['w2 done', 'b1 done', 'w3 done', 'm1 done']);
  });

  test('at most maxRunning turns run at once; a key in a running turn waits for the next, the waiting keys spread over the turns', async () => {
    const { queue, alone, together } = controlledQueue(10, 2);
    const calls = [queue.run('a', 'a1'), queue.run('b', 'b1'), queue.run('a', 'a2'), queue.run('c', 'c1'), queue.run('d', 'd1'), queue.run('e', 'e1'), queue.run('f', 'f1')];
    // Two turns run; the rest waits, also with a turn free, while its keys are busy.
    expect(alone.map((run) => run.change)).toEqual(['a1', 'b1']);
    expect(together).toEqual([]);

    // One turn ends: the next takes half of the waiting keys that are not busy (c and d of c, d, e, f; a is busy);
    // the other ends and the next takes two of a, e, f (a is free now), in the order made; f runs after one of them.
    alone[1]!.settle.resolve('b1 done');
    await settled();
    expect(together.map((turn) => turn.changes)).toEqual([['c1', 'd1']]);
    alone[0]!.settle.resolve('a1 done');
    await settled();
    expect(together.map((turn) => turn.changes)).toEqual([['c1', 'd1'], ['a2', 'e1']]);
    together[1]!.settle.resolve([{ ok: true, value: 'a2 done' }, { ok: true, value: 'e1 done' }]);
    await settled();
    expect(alone.map((run) => run.change)).toEqual(['a1', 'b1', 'f1']);
    together[0]!.settle.resolve([{ ok: true, value: 'c1 done' }, { ok: true, value: 'd1 done' }]);
    alone[2]!.settle.resolve('f1 done');
    await expect(Promise.all(calls)).resolves.toEqual(['a1 done', 'b1 done', 'a2 done', 'c1 done', 'd1 done', 'e1 done', 'f1 done']);
  });
});
