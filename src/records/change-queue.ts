// Changes that apply one after the other anyway (the count changes of one server type queue on its lock) wait in
// this process while one of them runs, and those that waited then run together: in order, in one transaction. Each
// change starts from what the one before it left, under the type's lock, so the outcome is the one of running them
// one at a time; what goes is a transaction and a read per change (see DynamicServers and CarriedBasis), and the wait
// for the lock with a database connection held.

/** What a queued change resolves to, or why it failed. */
export type ChangeOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The changes waiting for one key and how each of their callers is answered. */
interface Waiting<C, T> {
  change: C;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the changes given to `run` under one key (a server type) one turn at a time: the first runs alone at once
 * (`runAlone`); those given while a turn runs wait for it and then run as the next turn, at most `maxTogether` of
 * them (`runTogether`, which answers each change). Changes under different keys do not wait for each other.
 */
export class ChangeQueue<C, T> {
  readonly #waiting = new Map<string, Waiting<C, T>[]>();
  readonly #runAlone: (change: C) => Promise<T>;
  readonly #runTogether: (changes: C[]) => Promise<ChangeOutcome<T>[]>;
  readonly #maxTogether: number;

  constructor(options: { runAlone: (change: C) => Promise<T>; runTogether: (changes: C[]) => Promise<ChangeOutcome<T>[]>; maxTogether: number }) {
    this.#runAlone = options.runAlone;
    this.#runTogether = options.runTogether;
    this.#maxTogether = options.maxTogether;
  }

  /** Runs `change` in its key's next turn; resolves or rejects as that change did. */
  run(key: string, change: C): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiting = this.#waiting.get(key);
      if (waiting) {
        waiting.push({ change, resolve, reject });
        return;
      }
      this.#waiting.set(key, [{ change, resolve, reject }]);
      void this.#turns(key);
    });
  }

  /** Runs the turns of what waits for `key` (a turn of one alone), until nothing does. */
  async #turns(key: string): Promise<void> {
    const waiting = this.#waiting.get(key) as Waiting<C, T>[];
    while (waiting.length > 0) {
      const turn = waiting.splice(0, this.#maxTogether);
      if (turn.length === 1) {
        const [only] = turn as [Waiting<C, T>];
        await this.#runAlone(only.change).then(only.resolve, only.reject);
        continue;
      }
      let outcomes: ChangeOutcome<T>[];
      try {
        outcomes = await this.#runTogether(turn.map((each) => each.change));
      } catch (error) {
        outcomes = turn.map(() => ({ ok: false, error }));
      }
      turn.forEach((each, index) => {
        const outcome = outcomes[index] as ChangeOutcome<T>;
        if (outcome.ok) each.resolve(outcome.value);
        else each.reject(outcome.error);
      });
    }
    this.#waiting.delete(key);
  }
}
