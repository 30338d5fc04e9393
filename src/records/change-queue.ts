// Changes that apply one after the other anyway (the count changes of one server type queue on its lock) wait in
// this process while one of them runs, and those that waited then run together: in order, in one transaction. Each
// change starts from what the one before it left, under the type's lock, so the outcome is the one of running them
// one at a time; what goes is a transaction and a read per change (see DynamicServers and CarriedBasis), and the wait
// for the lock with a database connection held. Changes of different types share a transaction too, when they wait
// for one: at most `maxRunning` transactions run at once (one per connection of the pool), and a turn that starts
// takes the waiting changes of a `maxRunning`th of the types in no running turn.

/** What a queued change resolves to, or why it failed. */
export type ChangeOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A queued change, its key, and how its caller is answered. */
interface Waiting<C, T> {
  key: string;
  change: C;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the changes given to `run` in turns, at most `maxRunning` turns at once. A turn holds at most `maxTogether`
 * changes and never two turns hold changes of one key at once: those given while their key's turn runs wait for the
 * next. A turn of one change runs alone (`runAlone`); a turn of more (`runTogether`, which answers each change) gets
 * them by key, the keys in their sort order (so transactions that lock each key lock them in one order), each key's
 * changes in the order they were given.
 */
export class ChangeQueue<C, T> {
  /** Changes not in a turn yet, in the order they were given. */
  #waiting: Waiting<C, T>[] = [];
  /** Keys with changes in a running turn. */
  readonly #busy = new Set<string>();
  #running = 0;
  readonly #runAlone: (change: C) => Promise<T>;
  readonly #runTogether: (changes: C[]) => Promise<ChangeOutcome<T>[]>;
  readonly #maxTogether: number;
  readonly #maxRunning: number;

  constructor(options: {
    runAlone: (change: C) => Promise<T>;
    runTogether: (changes: C[]) => Promise<ChangeOutcome<T>[]>;
    maxTogether: number;
    maxRunning: number;
  }) {
    this.#runAlone = options.runAlone;
    this.#runTogether = options.runTogether;
    this.#maxTogether = options.maxTogether;
    this.#maxRunning = options.maxRunning;
  }

  /** Runs `change` in a turn, once no running turn holds a change of `key`; resolves or rejects as that change did. */
  run(key: string, change: C): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ key, change, resolve, reject });
      this.#startTurns();
    });
  }

  /** Starts turns while there is room for one and a change that can join it. */
  #startTurns(): void {
    while (this.#running < this.#maxRunning) {
      const turn = this.#nextTurn();
      if (turn.length === 0) return;
      this.#running++;
      const keys = new Set(turn.map((each) => each.key));
      for (const key of keys) this.#busy.add(key);
      void this.#runTurn(turn).finally(() => {
        this.#running--;
        for (const key of keys) this.#busy.delete(key);
        this.#startTurns();
      });
    }
  }

  /**
   * Takes the next turn's changes out of the waiting ones: at most `maxTogether` of those whose key is not busy, of
   * at most a `maxRunning`th of their keys (at least one), so the waiting keys spread over the turns that can run.
   */
  #nextTurn(): Waiting<C, T>[] {
    const ready = new Set<string>();
    for (const each of this.#waiting) if (!this.#busy.has(each.key)) ready.add(each.key);
    const keys = new Set([...ready].slice(0, Math.ceil(ready.size / this.#maxRunning)));
    const turn: Waiting<C, T>[] = [];
    const left: Waiting<C, T>[] = [];
    for (const each of this.#waiting) {
      if (turn.length < this.#maxTogether && keys.has(each.key)) turn.push(each);
      else left.push(each);
    }
    this.#waiting = left;
    // Stable: each key's changes stay in the order they were given.
    return turn.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Runs one turn and answers each of its changes. */
  async #runTurn(turn: Waiting<C, T>[]): Promise<void> {
    if (turn.length === 1) {
      const [only] = turn as [Waiting<C, T>];
      await this.#runAlone(only.change).then(only.resolve, only.reject);
      return;
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
}
