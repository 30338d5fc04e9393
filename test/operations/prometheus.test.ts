// A real Prometheus scrapes a `dynamic-servers worker` on the local cloud: one launch failure, ensure 3, decrease 1.
// Prometheus's HTTP API shows 3 then 2 servers running, and transition, launch-failure and boot-time figures equal to
// what the status history rows say. promtool accepts the endpoint's text and the alert rules; every metric the
// Grafana dashboard and the rules name is exported.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { BOOT_SECONDS_BUCKETS } from '../../src/operations/fleet-metrics.ts';
import { waitForStatus } from '../jobs/support/job-world.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';
import { promtool, startPrometheus, type PrometheusServer } from '../support/prometheus.ts';
import { metricNamesIn } from '../support/promql-names.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RULES = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'dynamic-servers.json');
const FAST = { initializing: 300, starting: 300, stopping: 100, rebooting: 100, deleting: 100 };

let world: EngineWorld;
let worker: WorkerProcess;
let prometheus: PrometheusServer;

beforeAll(async () => {
  world = await startEngineWorld({ cloud: { delays: FAST } });
  worker = await startWorkerProcess(world.cliEnv, ['--housekeeping-interval', '1']);
  prometheus = await startPrometheus({ targets: [new URL(worker.httpUrl).host] });
}, 180_000);

afterAll(async () => {
  await prometheus?.stop();
  await worker?.stop();
  await world?.close();
});

/** The value of `expression` in Prometheus now (a single series), or undefined when it has none. */
async function valueOf(expression: string): Promise<number | undefined> {
  const result = await prometheus.query(expression);
  if (result.length > 1) throw new Error(`${expression} has ${result.length} series`);
  return result[0] ? Number(result[0].value[1]) : undefined;
}

/** Polls Prometheus until `expression` is `expected`; returns every distinct value seen on the way. */
async function waitForValue(expression: string, expected: number, timeoutMs = 60_000): Promise<(number | undefined)[]> {
  const seen: (number | undefined)[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await valueOf(expression);
    if (seen.at(-1) !== value || seen.length === 0) seen.push(value);
    if (value === expected) return seen;
    if (Date.now() > deadline) throw new Error(`${expression} did not reach ${expected} within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The values Prometheus stored for `expression` over the last `milliseconds`, consecutive repeats dropped. */
async function storedValues(expression: string, milliseconds: number): Promise<number[]> {
  const [series, ...more] = await prometheus.stored(expression, milliseconds / 1000 + 1);
  if (!series || more.length > 0) throw new Error(`${expression} has ${series ? more.length + 1 : 0} series`);
  return series.values.map(([, value]) => Number(value)).filter((value, index, all) => index === 0 || all[index - 1] !== value);
}

/** Waits until Prometheus has scraped the worker after `moment`, so what it holds was read after then. */
async function waitForScrapeAfter(moment: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (((await valueOf('timestamp(up{job="dynamic-servers"})')) ?? 0) * 1000 <= moment) {
    if (Date.now() > deadline) throw new Error('Prometheus did not scrape the worker again within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Transitions per status reached, launch failures per reason and boot seconds, computed here from the rows. */
async function figuresFromRows(): Promise<{ transitions: Record<string, number>; failures: Record<string, number>; boots: number[] }> {
  const transitions: Record<string, number> = {};
  const failures: Record<string, number> = {};
  const boots: number[] = [];
  for (const server of await world.records.servers({ serverType: 'demo' })) {
    const history = await world.records.statusHistory(server.id);
    for (const change of history) transitions[change.to] = (transitions[change.to] ?? 0) + 1;
    const failure = history.find((change) => (change.from === 'new' || change.from === 'starting') && (change.to === 'errored' || change.to === 'hanging'));
    if (failure) {
      const reason = failure.to === 'hanging' ? 'boot_timeout' : (server.lastError?.class ?? 'unknown');
      failures[reason] = (failures[reason] ?? 0) + 1;
    }
    const running = history.find((change) => change.to === 'running');
    if (running) boots.push((running.changedAt.getTime() - server.createdAt.getTime()) / 1000);
  }
  return { transitions, failures, boots };
}

test('Prometheus scrapes 3 then 2 running servers, and the transition, failure and boot figures of the rows', async () => {
  await waitForValue('up{job="dynamic-servers"}', 1);
  const scenarioStart = Date.now();

  // One launch failure first: the cloud refuses the create (quota), so the server ends errored.
  world.cloud.failNext({ count: 1, status: 403, code: 'resource_limit_exceeded', match: { method: 'POST', pathPrefix: '/servers' } });
  await world.records.ensure('demo', 1);
  await waitForStatus(world.records, 'demo', 'errored', 1);

  await world.records.ensure('demo', 3);
  await waitForStatus(world.records, 'demo', 'running', 3);
  const upToThree = await waitForValue('dynamic_servers_servers{server_type="demo",status="running"}', 3);
  expect(await valueOf('dynamic_servers_desired_servers{server_type="demo"}')).toBe(3);

  await world.records.decrease('demo', 1);
  await waitForStatus(world.records, 'demo', 'running', 2);
  await waitForStatus(world.records, 'demo', 'deleted', 1);
  await waitForValue('dynamic_servers_servers{server_type="demo",status="running"}', 2);
  // What Prometheus stored, scrape after scrape, since the scenario began: up to 3 running, then 2.
  const stored = await storedValues('dynamic_servers_servers{server_type="demo",status="running"}', Date.now() - scenarioStart);
  expect(upToThree.at(-1)).toBe(3);
  expect(stored.slice(-2)).toEqual([3, 2]);
  expect(stored.filter((value) => value > 3)).toEqual([]);

  // The fleet is settled: a scrape taken after now must show exactly what the rows say.
  const settled = Date.now();
  await waitForScrapeAfter(settled);
  const rows = await figuresFromRows();
  for (const [to, count] of Object.entries(rows.transitions)) expect([to, await valueOf(`dynamic_servers_transitions_total{server_type="demo",to="${to}"}`)]).toEqual([to, count]);
  const exportedTransitions = await prometheus.query('dynamic_servers_transitions_total{server_type="demo"}');
  expect(exportedTransitions.map((sample) => sample.metric.to).sort()).toEqual(Object.keys(rows.transitions).sort());
  expect(rows.failures).toEqual({ QuotaExceededError: 1 });
  expect(await valueOf('dynamic_servers_launch_failures_total{server_type="demo",reason="QuotaExceededError"}')).toBe(1);

  expect(rows.boots).toHaveLength(3);
  expect(await valueOf('dynamic_servers_boot_seconds_count{server_type="demo"}')).toBe(rows.boots.length);
  expect(await valueOf('dynamic_servers_boot_seconds_sum{server_type="demo"}')).toBeCloseTo(rows.boots.reduce((sum, seconds) => sum + seconds, 0), 3);
  for (const bound of BOOT_SECONDS_BUCKETS) {
    expect([bound, await valueOf(`dynamic_servers_boot_seconds_bucket{server_type="demo",le="${bound}"}`)]).toEqual([bound, rows.boots.filter((seconds) => seconds <= bound).length]);
  }
  expect(await valueOf('dynamic_servers_boot_seconds_bucket{server_type="demo",le="+Inf"}')).toBe(3);
  expect(await valueOf('dynamic_servers_work_pending{server_type="demo"}')).toBe(0);
  const updates = await prometheus.query('dynamic_servers_pulumi_update_seconds_count{server_type="demo"}');
  const updatesByResult = Object.fromEntries(updates.map((sample) => [sample.metric.result, Number(sample.value[1])]));
  expect(updatesByResult.failed).toBeGreaterThanOrEqual(1);
  expect(updatesByResult.succeeded).toBeGreaterThanOrEqual(2);

  process.stdout.write(
    `prometheus: running as stored ${JSON.stringify(stored)}; transitions ${JSON.stringify(rows.transitions)}; ` +
      `launch failures ${JSON.stringify(rows.failures)}; boot seconds ${JSON.stringify(rows.boots.map((seconds) => Number(seconds.toFixed(2))))}; pulumi up ${JSON.stringify(updatesByResult)}\n`,
  );
}, 300_000);

test("the worker's /healthz is alive and its /readyz checks the database, the job store and the engine", async () => {
  expect(await (await fetch(`${worker.httpUrl}/healthz`)).json()).toEqual({ status: 'alive' });
  const ready = await fetch(`${worker.httpUrl}/readyz`);
  expect([ready.status, await ready.json()]).toEqual([
    200,
    {
      ready: true,
      checks: [
        { name: 'database', ok: true },
        { name: 'job-store', ok: true },
        { name: 'engine', ok: true },
      ],
    },
  ]);
});

test('promtool accepts the endpoint output and the alert rules', async () => {
  const exposition = await (await fetch(`${worker.httpUrl}/metrics`)).text();
  const metrics = await promtool(['check', 'metrics'], exposition);
  expect({ code: metrics.code, problems: `${metrics.stdout}${metrics.stderr}`.trim() }).toEqual({ code: 0, problems: '' });
  const rules = await promtool(['check', 'rules', RULES]);
  expect(rules.code).toBe(0);
  expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
  process.stdout.write(`promtool: metrics ${exposition.split('\n').filter((line) => line.startsWith('# TYPE')).length} families OK; rules: ${rules.stdout.trim().split('\n').at(-1)!.trim()}\n`);
});

test('every metric the Grafana dashboard and the alert rules name is exported and scraped', async () => {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const rules = parse(await readFile(RULES, 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  const expressions = [...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)), ...rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr))];
  const named = [...new Set(expressions.flatMap(metricNamesIn))].sort();
  expect(named.length).toBeGreaterThan(8);

  const exposition = await (await fetch(`${worker.httpUrl}/metrics`)).text();
  const families = new Set(exposition.split('\n').flatMap((line) => (line.startsWith('# TYPE ') ? [line.split(' ')[2]!] : [])));
  const family = (name: string) => (families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, ''));
  const missing = named.filter((name) => !families.has(family(name)));
  expect(missing).toEqual([]);
  // And Prometheus holds series of each (after the scenario above, which made every kind of figure).
  const withoutSeries: string[] = [];
  for (const name of named) if ((await prometheus.query(`count(${name})`)).length === 0) withoutSeries.push(name);
  expect(withoutSeries).toEqual([]);
  process.stdout.write(`dashboard and rules name ${named.length} metrics, all exported: ${named.join(', ')}\n`);
});
