// One OS process of the concurrency test: opens DynamicServers (which migrates if needed), says `ready`, waits
// for `go` on stdin, then makes CALLS mixed ensure/increase/decrease calls in LANES concurrent lanes, chosen by a
// PRNG seeded with SEED, and prints one JSON line per call with what it returned. Its lanes share one connection,
// so calls wait for it and the process's turns hold changes of both types (with two connections for three lanes, a
// freed one mostly found one call waiting). With OPEN_AFTER_GO=1 it opens (and migrates) only after `go`, so several
// processes migrate at the same moment.
// Usage: DATABASE_URL=... SEED=1 CALLS=50 LANES=3 node test/records/support/concurrent-caller.ts
import { createInterface } from 'node:readline';
import { DynamicServers } from '../../../src/api.ts';
import { describeCall, mulberry32, type CallOutcome, type PlannedCall } from './concurrency-plan.ts';

const seed = Number(process.env.SEED);
const calls = Number(process.env.CALLS);
const lanes = Number(process.env.LANES);
const random = mulberry32(seed);
const plan: PlannedCall[] = Array.from({ length: calls }, () => describeCall(random));

const open = () => DynamicServers.open({ databaseUrl: String(process.env.DATABASE_URL), onLimitHit: 'emit', poolSize: 1 });
const openedEarly = process.env.OPEN_AFTER_GO === '1' ? null : await open();
process.stdout.write('ready\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
const servers = openedEarly ?? (await open());

let next = 0;
async function lane(): Promise<void> {
  while (next < plan.length) {
    const call = plan[next++] as PlannedCall;
    try {
      const change =
        call.op === 'ensure' ? await servers.ensure(call.serverType, call.amount)
        : call.op === 'increase' ? await servers.increase(call.serverType, call.amount)
        : await servers.decrease(call.serverType, call.amount);
      const outcome: CallOutcome = { ...call, pid: process.pid, change };
      process.stdout.write(`${JSON.stringify(outcome)}\n`);
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ ...call, pid: process.pid, error: String((error as Error)?.stack ?? error) })}\n`);
    }
  }
}
await Promise.all(Array.from({ length: lanes }, lane));
await servers.close();
process.exit(0);
