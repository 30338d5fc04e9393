// Loaded into a worker process by bench/scale.ts (`NODE_OPTIONS=--import`): counts the database messages and
// statements the worker sends while its housekeeping job holds its run lock (the lock is taken once per tick),
// leaving out what runs beside the tick all the time (Agenda's statements on the job table, the sweep's look at
// pg_locks), and writes the totals as JSON to STATEMENT_COUNT_FILE after every tick.
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { JOB_TABLE } from '../../src/jobs/job-store.ts';

const output = process.env.STATEMENT_COUNT_FILE;
const HOUSEKEEPING = 'housekeeping';
const totals = { ticks: 0, messages: 0, statements: 0, transactions: 0, milliseconds: 0 };
let inTick = false;
let tickStarted = 0;

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string; values?: unknown[] };
  const text = typeof first === 'string' ? first : (first?.text ?? '');
  const values = (Array.isArray(args[1]) ? args[1] : typeof first === 'object' ? first?.values : undefined) ?? [];
  const housekeepingLock = values[1] === HOUSEKEEPING && /pg_(try_advisory_lock|advisory_unlock)\(/i.test(text);
  if (housekeepingLock && /try_advisory_lock/i.test(text)) {
    inTick = true;
    tickStarted = performance.now();
  } else if (housekeepingLock) {
    inTick = false;
    totals.ticks += 1;
    totals.milliseconds += performance.now() - tickStarted;
    if (output) writeFileSync(output, JSON.stringify(totals));
  } else if (inTick && !text.includes(JOB_TABLE) && !text.includes('pg_locks')) {
    const statements = text.split(/;\s*\n/).filter((statement) => statement.trim() !== '');
    totals.messages += 1;
    totals.statements += statements.length;
    totals.transactions += statements.filter((statement) => /^\s*begin\b/i.test(statement)).length;
  }
  return (query as (...all: unknown[]) => unknown).apply(this, args);
} as typeof query;
