/// <reference lib="dom" />
// The worker's status page in headless Chromium: after a refused create, ensure 3 and a server that never boots,
// the page draws its chart, shows per type the counts the database holds, lists the errored and the hanging server,
// and loads nothing from anywhere but the worker. A screenshot goes to test-output/status-page/.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startWorkerProcess, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import type { StatusReport } from '../../src/operations/status-report.ts';
import { waitForStatus } from '../jobs/support/job-world.ts';
import { startChromium, type HeadlessChromium } from '../support/chromium.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

const OUTPUT = join(import.meta.dirname, '..', '..', 'test-output', 'status-page');
const FAST = { initializing: 100, starting: 100, stopping: 100, rebooting: 100, deleting: 100 };

let world: EngineWorld;
let worker: WorkerProcess;
let browser: HeadlessChromium;

beforeAll(async () => {
  // Hanging servers are kept (not deleted and replaced, the default policy), so the page has one to show.
  world = await startEngineWorld({ cloud: { delays: FAST }, stackConfig: { 'dynamic-servers:bootTimeoutSeconds': 3, 'dynamic-servers:hangingServers': 'keep' } });
  worker = await startWorkerProcess(world.cliEnv, ['--housekeeping-interval', '1']);
  browser = await startChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await worker?.stop();
  await world?.close();
});

test('the status page charts the fleet and shows the counts and troubles the database holds', async () => {
  world.cloud.failNext({ count: 1, status: 403, code: 'resource_limit_exceeded', match: { method: 'POST', pathPrefix: '/servers' } });
  await world.records.ensure('demo', 1);
  await waitForStatus(world.records, 'demo', 'errored', 1);
  await world.records.ensure('demo', 3);
  await waitForStatus(world.records, 'demo', 'running', 3);
  world.cloud.updateSettings({ faults: { hangIn: ['initializing'] } });
  await world.records.increase('demo', 1);
  await waitForStatus(world.records, 'demo', 'hanging', 1);
  world.cloud.updateSettings({ faults: { hangIn: [] } });
  // The hung server's replacement boots; then the fleet holds still while the page is compared with the database.
  await waitForStatus(world.records, 'demo', 'running', 4);

  const page = await browser.context.newPage();
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  await page.goto(`${worker.httpUrl}/?minutes=5`);
  await page.waitForFunction(() => Number(document.body.dataset.chartsDrawn) >= 1 && document.querySelector('.chart[data-type="demo"] canvas') !== null);

  // The database now; then wait for a refresh of the page that read it later.
  const counts = await world.records.countPerStatus('demo');
  const desired = await world.records.desiredState('demo');
  const readAt = new Date().toISOString();
  await page.waitForFunction((after) => (document.getElementById('state')?.dataset.generatedAt ?? '') > after, readAt, { timeout: 30_000 });
  const shown = await page.$$eval('#types tr[data-type="demo"] td[data-column]', (cells) => Object.fromEntries(cells.map((cell) => [(cell as HTMLElement).dataset.column, cell.textContent])));
  expect(shown).toEqual({
    desired: String(desired.desiredCount),
    provisioned: String(counts.new + counts.starting + counts.running + counts.rebooting),
    running: String(counts.running),
    starting: String(counts.new + counts.starting),
    errored: String(counts.errored),
    hanging: String(counts.hanging),
    stopping: String(counts.draining + counts.stopping + counts.stopped + counts.deleting),
    pending: 'no',
  });
  expect([counts.running, counts.errored, counts.hanging, desired.desiredCount]).toEqual([4, 1, 1, 4]);

  const troubles = await page.$$eval('#troubles tbody tr[data-server]', (rows) => rows.map((row) => [(row as HTMLElement).dataset.server, row.children[3]?.textContent, row.children[5]?.textContent]));
  const errored = (await world.records.servers({ serverType: 'demo', status: 'errored' }))[0]!;
  const hanging = (await world.records.servers({ serverType: 'demo', status: 'hanging' }))[0]!;
  expect(troubles).toEqual([
    [hanging.name, 'hanging', ''],
    [errored.name, 'errored', expect.stringContaining('QuotaExceededError: ')],
  ]);

  // The chart: its data is the status history (running rose to 4), and its canvas has the running line's colour.
  const report = (await (await fetch(`${worker.httpUrl}/status.json?minutes=5`)).json()) as StatusReport;
  const running = report.timeline.series.demo!.running;
  expect(running.at(-1)).toBe(4);
  expect(Math.max(...running)).toBe(4);
  expect(report.timeline.series.demo!.hanging.at(-1)).toBe(1);
  const runningPixels = await page.$eval('.chart[data-type="demo"] canvas', (canvas) => {
    const { data } = (canvas as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, (canvas as HTMLCanvasElement).width, (canvas as HTMLCanvasElement).height);
    let matching = 0;
    for (let index = 0; index < data.length; index += 4) if (data[index] === 0x2e && data[index + 1] === 0x7d && data[index + 2] === 0x32) matching += 1;
    return matching;
  });
  expect(runningPixels).toBeGreaterThan(20);

  expect(requested.filter((url) => !url.startsWith(`${worker.httpUrl}/`))).toEqual([]);
  await mkdir(OUTPUT, { recursive: true });
  const screenshot = join(OUTPUT, 'status-page.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  process.stdout.write(`status page: ${JSON.stringify(shown)}; ${troubles.length} troubles; ${runningPixels} running-line pixels; ${requested.length} requests, all to the worker; screenshot ${screenshot}\n`);
}, 300_000);
