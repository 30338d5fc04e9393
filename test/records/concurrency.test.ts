// Four OS processes change the same two server types at once. A trigger watches every committed and uncommitted
// change of a provisioned count while they run; afterwards the calls' own reports, put in desired-state version
// order, must replay exactly to the final rows, and PostgreSQL must have found no deadlock among the processes' turns.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { pollFor } from '../support/poll.ts';
import { publishTypes } from '../support/published-types.ts';
import { BUDGET_SETUP, CONCURRENCY_SETUP, type CallOutcome, type PlannedCall } from './support/concurrency-plan.ts';
import { startRecordsDatabase, type RecordsDatabase } from './support/records-database.ts';

const PROCESSES = 4;
const CALLS_PER_PROCESS = 50;
const LANES_PER_PROCESS = 3;
const CALLER = 'test/records/support/concurrent-caller.ts';

let database: RecordsDatabase;

beforeAll(async () => {
  database = await startRecordsDatabase('records_concurrency');
});

afterAll(async () => {
  await database?.stop();
});

/** A running caller process: its report lines, a promise of `ready`, and a promise of its exit. */
function startCaller(databaseUrl: string, seed: number, calls: number, openAfterGo: boolean) {
  const child = spawn(process.execPath, [CALLER], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      SEED: String(seed),
      CALLS: String(calls),
      LANES: String(LANES_PER_PROCESS),
      OPEN_AFTER_GO: openAfterGo ? '1' : '0',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => (line === 'ready' ? markReady() : lines.push(line)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    lines,
    ready: Promise.race([ready, exited.then(() => Promise.reject(new Error(`caller ${seed} exited before ready:\n${stderr}`)))]),
    go: () => child.stdin.end('go\n'),
    exited: exited.then((code) => ({ code, stderr })),
    kill: () => child.exitCode === null && child.kill(),
  };
}

/**
 * The deadlocks PostgreSQL has found in the test database. A turn that holds changes of both types takes both
 * types' locks, and a process's calls wait for its one connection (see concurrent-caller.ts), so the processes'
 * turns meet; a deadlock would mostly not show in the calls' outcomes (the turn's changes run again alone), only
 * here (8 found with each turn taking the two locks in a random order). Counted once the callers' connections are
 * closed (a backend reports its counts when it ends, at the latest).
 */
async function deadlocksFound(): Promise<number> {
  const others = `select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`;
  await pollFor('the callers\' connections to end', 10_000, async () => ((await database.rows<{ n: number }>(others))[0]?.n === 0 ? true : undefined), 20);
  const [row] = await database.rows<{ deadlocks: number }>('select deadlocks::int as deadlocks from pg_stat_database where datname = current_database()');
  return Number(row?.deadlocks);
}

/** Runs the callers together (all ready first, then all start at once) and returns their reports. */
async function runCallers(databaseUrl: string, calls: number, openAfterGo = false): Promise<CallOutcome[]> {
  const callers = Array.from({ length: PROCESSES }, (_, index) => startCaller(databaseUrl, index + 1, calls, openAfterGo));
  try {
    await Promise.all(callers.map((caller) => caller.ready));
  } catch (error) {
    for (const caller of callers) caller.kill();
    throw error;
  }
  for (const caller of callers) caller.go();
  for (const { code, stderr } of await Promise.all(callers.map((caller) => caller.exited))) expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  return callers.flatMap((caller) => caller.lines.map((line) => JSON.parse(line) as CallOutcome));
}

/** Counts a provisioned-count change against each limit, in the changing transaction; records peaks and violations. */
const LIMIT_WATCHER = `
  create table limit_watch (scope text, key text, maximum int not null, provisioned int not null default 0, peak int not null default 0, primary key (scope, key));
  create table limit_violation (scope text, key text, provisioned int, maximum int, at timestamptz default clock_timestamp());
  insert into limit_watch (scope, key, maximum) values ('type', 'alpha', 8), ('type', 'beta', 8), ('provider', 'shared', 12);
  create function watch_limits() returns trigger language plpgsql as $$
  declare
    delta int := 0;
    watched record;
  begin
    if new.status in ('new', 'starting', 'running', 'rebooting') then delta := delta + 1; end if;
    if tg_op = 'UPDATE' and old.status in ('new', 'starting', 'running', 'rebooting') then delta := delta - 1; end if;
    if delta = 0 then return new; end if;
    -- A row lock per counter: a concurrent change waits here for this one to commit, then counts on top of it.
    for watched in
      update limit_watch set provisioned = provisioned + delta, peak = greatest(peak, provisioned + delta)
       where scope = 'type' and key = new.type returning scope, key, provisioned, maximum
    loop
      if watched.provisioned > watched.maximum then insert into limit_violation (scope, key, provisioned, maximum) values (watched.scope, watched.key, watched.provisioned, watched.maximum); end if;
    end loop;
    for watched in
      update limit_watch set provisioned = provisioned + delta, peak = greatest(peak, provisioned + delta)
       where scope = 'provider' and key = new.provider returning scope, key, provisioned, maximum
    loop
      if watched.provisioned > watched.maximum then insert into limit_violation (scope, key, provisioned, maximum) values (watched.scope, watched.key, watched.provisioned, watched.maximum); end if;
    end loop;
    return new;
  end $$;
  create trigger watch_limits after insert or update of status on server for each row execute function watch_limits();
`;

/** The provisioned count `call` asks for, given the count it started from. */
function targetOf(call: PlannedCall, before: number): number {
  return call.op === 'ensure' ? call.amount : call.op === 'increase' ? before + call.amount : Math.max(0, before - call.amount);
}

/** The provisioned count a call implies, given the count it started from and the limit it reported. */
function impliedAfter(call: PlannedCall, before: number, change: Extract<CallOutcome, { change: unknown }>['change']): number {
  const target = targetOf(call, before);
  if (target <= before) {
    expect(change.limitHit).toBeNull();
    return target;
  }
  const hit = change.limitHit;
  if (!hit) return target;
  const typeRoom = Math.max(0, CONCURRENCY_SETUP.serverTypes[call.serverType].maximum - before);
  expect(hit.requested).toBe(target - before);
  if (hit.scope === 'serverType') {
    expect(hit).toMatchObject({ maximum: 8, provisioned: before, allowed: typeRoom });
    return before + typeRoom;
  }
  const providerRoom = Math.max(0, CONCURRENCY_SETUP.providers.shared.maximum - hit.provisioned);
  expect(hit).toMatchObject({ scope: 'provider', maximum: 12, allowed: providerRoom });
  expect(providerRoom).toBeLessThan(Math.min(typeRoom, target - before));
  return before + providerRoom;
}

/** Counts the money per hour of provisioned servers against each budget, in the changing transaction, like LIMIT_WATCHER. */
const BUDGET_WATCHER = `
  create table budget_watch (scope text, key text, budget numeric not null, spent numeric not null default 0, peak numeric not null default 0, primary key (scope, key));
  create table budget_violation (scope text, key text, spent numeric, budget numeric, at timestamptz default clock_timestamp());
  insert into budget_watch (scope, key, budget) values
    ('type', 'alpha', ${BUDGET_SETUP.serverTypes.alpha.budgetUnits * BUDGET_SETUP.unit}), ('type', 'beta', ${BUDGET_SETUP.serverTypes.beta.budgetUnits * BUDGET_SETUP.unit}),
    ('provider', 'shared', ${BUDGET_SETUP.providers.shared.budgetUnits * BUDGET_SETUP.unit});
  create function watch_budgets() returns trigger language plpgsql as $$
  declare
    delta numeric := 0;
    watched record;
  begin
    if new.status in ('new', 'starting', 'running', 'rebooting') then delta := delta + coalesce(new.hourly_price, 1000); end if;
    if tg_op = 'UPDATE' and old.status in ('new', 'starting', 'running', 'rebooting') then delta := delta - coalesce(old.hourly_price, 1000); end if;
    if delta = 0 then return new; end if;
    for watched in
      update budget_watch set spent = spent + delta, peak = greatest(peak, spent + delta)
       where (scope = 'type' and key = new.type) or (scope = 'provider' and key = new.provider) returning scope, key, spent, budget
    loop
      if watched.spent > watched.budget then insert into budget_violation (scope, key, spent, budget) values (watched.scope, watched.key, watched.spent, watched.budget); end if;
    end loop;
    return new;
  end $$;
  create trigger watch_budgets after insert or update of status, hourly_price on server for each row execute function watch_budgets();
`;

/** The provisioned count a call implies under the budgets, given the count it started from and the budget it reported. */
function impliedUnderBudgets(call: PlannedCall, before: number, change: Extract<CallOutcome, { change: unknown }>['change']): number {
  const target = targetOf(call, before);
  if (target <= before) {
    expect(change.limitHit).toBeNull();
    return target;
  }
  const hit = change.limitHit;
  if (!hit) return target;
  const { priceUnits, budgetUnits, offering } = BUDGET_SETUP.serverTypes[call.serverType];
  const units = (money: number) => Math.round(money / BUDGET_SETUP.unit);
  const typeRoom = Math.floor((budgetUnits - before * priceUnits) / priceUnits);
  expect(hit).toMatchObject({ scope: 'budget', requested: target - before, budget: { pricePerServer: priceUnits * BUDGET_SETUP.unit, offering } });
  if (hit.budget!.of === 'serverType') {
    expect(hit).toMatchObject({ maximum: before + typeRoom, provisioned: before, allowed: typeRoom });
    expect(units(hit.budget!.spentPerHour)).toBe(before * priceUnits);
    return before + typeRoom;
  }
  const providerRoom = Math.floor((BUDGET_SETUP.providers.shared.budgetUnits - units(hit.budget!.spentPerHour)) / priceUnits);
  expect(hit).toMatchObject({ maximum: hit.provisioned + providerRoom, allowed: providerRoom });
  expect(providerRoom).toBeLessThan(Math.min(typeRoom, target - before));
  return before + providerRoom;
}

/**
 * Replays one type's calls in desired-state version order: each changing call starts where the previous one ended
 * and ends where its arguments imply (`implied`: under the count limits by default); each call that changed nothing
 * saw a count some version left and had nothing to do. Returns the final count.
 */
function replay(serverType: string, outcomes: Extract<CallOutcome, { change: unknown }>[], implied = impliedAfter): number {
  const calls = outcomes.filter((outcome) => outcome.serverType === serverType);
  const changing = calls.filter((outcome) => outcome.change.changed).sort((a, b) => a.change.version - b.change.version);
  expect(changing.map((outcome) => outcome.change.version)).toEqual(changing.map((_, index) => index + 1));
  const countAtVersion = [0];
  for (const outcome of changing) {
    expect(outcome.change.before).toBe(countAtVersion.at(-1));
    expect(outcome.change.after).toBe(implied(outcome, outcome.change.before, outcome.change));
    countAtVersion.push(outcome.change.after);
  }
  for (const outcome of calls.filter((call) => !call.change.changed)) {
    expect(outcome.change.before).toBe(countAtVersion[outcome.change.version]);
    expect(outcome.change.after).toBe(outcome.change.before);
    expect(implied(outcome, outcome.change.before, outcome.change)).toBe(outcome.change.before);
  }
  return countAtVersion.at(-1) as number;
}

test('4 processes x 50 mixed calls: exact final counts, no limit ever exceeded, no duplicated server', async () => {
  await publishTypes(database.url, CONCURRENCY_SETUP.serverTypes, CONCURRENCY_SETUP.providers);
  await database.client.query(LIMIT_WATCHER);

  // The watcher sees a violation when there is one (checked in a transaction that is rolled back).
  await database.client.query('begin');
  await database.client.query(
    `insert into server (name, type, provider, status, status_updated_at, addresses, template, template_hash, meta, created_at, updated_at)
     select 'probe-' || n, 'alpha', 'shared', 'new', now(), '{}', '{}', 'x', '{}', now(), now() from generate_series(1, 9) n`,
  );
  expect(await database.rows('select scope, key, provisioned from limit_violation')).toEqual([{ scope: 'type', key: 'alpha', provisioned: 9 }]);
  await database.client.query('rollback');

  const outcomes = await runCallers(database.url, CALLS_PER_PROCESS);
  expect(outcomes.filter((outcome) => 'error' in outcome)).toEqual([]);
  expect(outcomes).toHaveLength(PROCESSES * CALLS_PER_PROCESS);
  const reports = outcomes as Extract<CallOutcome, { change: unknown }>[];
  expect(await deadlocksFound()).toBe(0);

  // Limits: never exceeded at any moment, and actually reached (so the check was exercised).
  expect(await database.rows('select * from limit_violation')).toEqual([]);
  const peaks = await database.rows<{ scope: string; key: string; peak: number; maximum: number }>('select scope, key, peak, maximum from limit_watch order by scope, key');
  for (const peak of peaks) expect(peak.peak).toBeLessThanOrEqual(peak.maximum);
  expect(reports.filter((report) => report.change.limitHit !== null).length).toBeGreaterThan(0);

  // Exact counts: the replayed reports end where the rows are.
  for (const serverType of ['alpha', 'beta'] as const) {
    const final = replay(serverType, reports);
    const [row] = await database.rows<{ provisioned: number }>(
      `select count(*)::int as provisioned from server where type = $1 and status in ('new', 'starting', 'running', 'rebooting')`,
      [serverType],
    );
    expect(row?.provisioned).toBe(final);
    const changes = reports.filter((report) => report.serverType === serverType && report.change.changed).length;
    expect(await database.rows('select desired_count, version from desired_state where server_type = $1', [serverType])).toEqual([{ desired_count: final, version: changes }]);
  }

  // No duplicated server: every id created once, every row created by exactly one reported call, names unique.
  const created = reports.flatMap((report) => report.change.createdServerIds);
  const stopped = reports.flatMap((report) => report.change.stoppingServerIds);
  expect(new Set(created).size).toBe(created.length);
  expect(new Set(stopped).size).toBe(stopped.length);
  const serverRows = await database.rows<{ id: string; name: string }>('select id, name from server order by id');
  expect(serverRows.map((row) => Number(row.id))).toEqual([...created].sort((a, b) => a - b));
  expect(new Set(serverRows.map((row) => row.name)).size).toBe(serverRows.length);
  expect(await database.rows(`select count(*)::int as rows from server_status_change where from_status is null and to_status = 'new'`)).toEqual([{ rows: created.length }]);
  expect(await database.rows(`select count(*)::int as rows from server_status_change where to_status = 'stopping'`)).toEqual([{ rows: stopped.length }]);
});

test('4 processes x 50 mixed calls under budgets: exact final counts, no budget ever exceeded', async () => {
  await database.client.query('drop trigger watch_limits on server');
  await database.reset();
  const { unit } = BUDGET_SETUP;
  await publishTypes(
    database.url,
    Object.fromEntries(
      Object.entries(BUDGET_SETUP.serverTypes).map(([name, type]) => [
        name,
        { provider: type.provider, offerings: [type.offering], prices: { [type.offering]: type.priceUnits * unit }, budget: type.budgetUnits * unit },
      ]),
    ),
    { shared: { budget: BUDGET_SETUP.providers.shared.budgetUnits * unit } },
  );
  await database.client.query(BUDGET_WATCHER);

  // The watcher sees an overspend when there is one (checked in a transaction that is rolled back).
  await database.client.query('begin');
  await database.client.query(
    `insert into server (name, type, provider, status, status_updated_at, addresses, template, template_hash, meta, offering, hourly_price, created_at, updated_at)
     select 'probe-' || n, 'alpha', 'shared', 'new', now(), '{}', '{}', 'x', '{}', 'a', 0.01, now(), now() from generate_series(1, 6) n`,
  );
  expect(await database.rows('select scope, key, spent::float8 as spent from budget_violation')).toEqual([{ scope: 'type', key: 'alpha', spent: 0.06 }]);
  await database.client.query('rollback');

  const outcomes = await runCallers(database.url, CALLS_PER_PROCESS);
  expect(outcomes.filter((outcome) => 'error' in outcome)).toEqual([]);
  expect(await deadlocksFound()).toBe(0);
  const reports = outcomes as Extract<CallOutcome, { change: unknown }>[];

  // Budgets: never exceeded at any moment, and reached (both the types' and the provider's).
  expect(await database.rows('select * from budget_violation')).toEqual([]);
  const peaks = await database.rows<{ scope: string; key: string; peak: string; budget: string }>('select scope, key, peak::text, budget::text from budget_watch order by scope, key');
  for (const peak of peaks) expect(Number(peak.peak)).toBeLessThanOrEqual(Number(peak.budget));
  const hits = reports.map((report) => report.change.limitHit).filter((hit) => hit !== null);
  expect(new Set(hits.map((hit) => hit.budget?.of))).toEqual(new Set(['serverType', 'provider']));
  process.stdout.write(`budget peaks (money per hour): ${peaks.map((peak) => `${peak.scope} ${peak.key} ${Number(peak.peak)} of ${Number(peak.budget)}`).join(', ')}; ${hits.length} calls cut short by a budget\n`);

  // Exact counts, and every server carries its offering's price.
  for (const serverType of ['alpha', 'beta'] as const) {
    const final = replay(serverType, reports, impliedUnderBudgets);
    const { offering, priceUnits } = BUDGET_SETUP.serverTypes[serverType];
    const rows = await database.rows<{ offering: string; price: number }>(
      `select offering, hourly_price::float8 as price from server where type = $1 and status in ('new', 'starting', 'running', 'rebooting')`,
      [serverType],
    );
    expect(rows).toEqual(Array.from({ length: final }, () => ({ offering, price: priceUnits * unit })));
  }
});

test('4 processes opening a fresh database at once run the migrations exactly once and make one installation id', async () => {
  await database.client.query('create database records_fresh');
  const freshUrl = new URL(database.url);
  freshUrl.pathname = '/records_fresh';
  const outcomes = await runCallers(freshUrl.toString(), 0, true);
  expect(outcomes).toEqual([]);
  const fresh = new pg.Client({ connectionString: freshUrl.toString() });
  await fresh.connect();
  try {
    expect((await fresh.query('select name from dynamic_servers_migrations order by name')).rows.map((row: { name: string }) => row.name)).toEqual([
      '0001-create-server-records',
      '0002-add-reboot-sent-at',
      '0003-create-config-registry',
      '0004-add-create-backoff',
      '0005-create-installation',
      '0006-add-offerings-and-prices',
      '0007-add-rollout-and-drain',
    ]);
    // One installation id, however many processes migrated at once.
    expect((await fresh.query('select count(*)::int as n from installation')).rows).toEqual([{ n: 1 }]);
  } finally {
    await fresh.end();
  }
});

