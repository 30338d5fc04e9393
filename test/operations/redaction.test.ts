// A cloud token stored only as a Pulumi secret (`local:token`) goes through every log path of a worker, and of the
// CLI's --verbose, and appears in none of their lines. A careless cloud repeats the credentials in its error
// messages, so the token really reaches the log calls: a failing `pulumi up` (a refused create), a provider error
// (a refused observation that fails the verify job), and a worker crash (user code in the monitor module throws the
// token from a timer, in a second worker that has applied a change: a failed `pulumi up` leaves Pulumi's error
// handler installed in the first, which then keeps it alive). Each path is shown to have been logged, with `[redacted]` (or Pulumi's own `[secret]`) where the
// token was. No row of the database holds the token either.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { startWorkerProcess, type WorkerLogLine, type WorkerProcess } from '../../src/jobs/worker-process.ts';
import { publishProject } from '../../src/runtime.ts';
import { waitForStatus } from '../jobs/support/job-world.ts';
import { runCli } from '../support/cli.ts';
import { startEchoingProxy, type EchoingProxy } from '../support/echoing-proxy.ts';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';

const TOKEN = `tok${randomBytes(24).toString('hex')}`;
const FAST = { initializing: 200, starting: 200, stopping: 100, rebooting: 100, deleting: 100 };

let world: EngineWorld;
let proxy: EchoingProxy;
const workers: WorkerProcess[] = [];
let crashTrigger: string;
let monitorModule: string;

beforeAll(async () => {
  world = await startEngineWorld({ token: TOKEN, cloud: { delays: FAST } });
  proxy = await startEchoingProxy(world.cloud.url);
  // The stack's endpoint goes through the careless proxy; the token stays a secret of the stack.
  const stackFile = join(world.projectDir, 'stacks', 'Pulumi.demo.yaml');
  const text = await readFile(stackFile, 'utf8');
  expect(text).not.toContain(TOKEN);
  await writeFile(stackFile, text.replace(world.cloud.url, proxy.url));
  await publishProject(world.records, world.projectDir);
  crashTrigger = join(world.projectDir, 'crash-now');
  monitorModule = join(world.projectDir, 'count.mjs');
  await writeFile(
    monitorModule,
    [
      "import { existsSync } from 'node:fs';",
      'export function determineServerCount() {',
      `  if (existsSync(${JSON.stringify(crashTrigger)})) setTimeout(() => { throw new Error('the queue refused the credentials ${TOKEN}'); }, 0);`,
      '  return undefined;',
      '}',
      '',
    ].join('\n'),
  );
}, 180_000);

afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await proxy?.stop();
  await world?.close();
});

/** Every line the worker wrote to stderr, as text. */
function everything(process: WorkerProcess): string[] {
  return [...process.lines.map((line) => JSON.stringify(line)), ...process.text];
}

async function waitForLine(process: WorkerProcess, matches: (line: WorkerLogLine) => boolean, what: string, timeoutMs = 90_000): Promise<WorkerLogLine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = process.lines.find(matches);
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no ${what} line within ${timeoutMs} ms; lines: ${everything(process).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a secret token fed through a failing up, a provider error and a worker crash appears in no log line', async () => {
  const running = await startWorkerProcess(world.cliEnv, ['--housekeeping-interval', '1']);
  workers.push(running);

  // 1. A failing `pulumi up`: the cloud refuses the create, repeating the token.
  proxy.refuseNext({ method: 'POST', pathPrefix: '/servers', status: 422, code: 'invalid_input' });
  await world.records.ensure('demo', 1);
  await waitForStatus(world.records, 'demo', 'errored', 1);
  const errored = await waitForLine(running, (line) => line.event === 'server-event' && line.name === 'errored', 'errored server-event');
  // Pulumi masks the stack's secrets in its own diagnostics ([secret]); the worker's scrubber does the rest.
  expect((errored.error as { message: string }).message).toMatch(/the credentials \[(secret|redacted)\] may not POST/);
  await waitForLine(running, (line) => line.event === 'stack-update' && line.phase === 'end' && line.result === 'failed', 'failed stack-update');

  // 2. A provider error: the cloud refuses to show the new server three times, failing the verify job.
  proxy.refuseNext({ method: 'GET', pathPrefix: '/servers/', status: 403, code: 'forbidden', count: 3 });
  await world.records.ensure('demo', 1);
  const failedVerify = await waitForLine(running, (line) => line.event === 'error' && String(line.context).startsWith('job verify:demo') && line.msg.includes('credentials'), 'failed verify');
  expect(failedVerify.msg).toMatch(/the credentials \[redacted\] may not GET/);
  await waitForStatus(world.records, 'demo', 'running', 1);

  expect(await running.stop()).toBe(0);

  // 3. A crash: the monitor module of a new worker, which has applied a change, throws the token from a timer.
  const crashing = await startWorkerProcess(world.cliEnv, ['--housekeeping-interval', '1', '--monitor', monitorModule, '--monitor-interval', '1']);
  workers.push(crashing);
  await world.records.ensure('demo', 2);
  await waitForStatus(world.records, 'demo', 'running', 2);
  await writeFile(crashTrigger, '');
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([crashing.exited, new Promise((resolve) => (timer = setTimeout(() => resolve('still running after 60 s'), 60_000)))]);
  clearTimeout(timer);
  expect([ended, ended === 1 ? [] : everything(crashing).slice(-10)]).toEqual([1, []]);
  const crashed = crashing.lines.find((line) => line.event === 'worker-crashed');
  expect(crashed?.msg).toBe('the worker crashed: the queue refused the credentials [redacted]');

  // 4. The CLI's --verbose on a reconcile whose create the cloud refuses.
  proxy.refuseNext({ method: 'POST', pathPrefix: '/servers', status: 422, code: 'invalid_input' });
  await world.records.increase('demo', 1);
  const cli = await runCli(world.cliEnv, '--verbose', 'reconcile', 'demo');
  expect(cli.code).toBe(0);
  const cliLines = cli.stderr.trim().split('\n');
  const cliErrored = cliLines.map((line) => JSON.parse(line) as WorkerLogLine).find((line) => line.event === 'server-event' && line.name === 'errored');
  expect((cliErrored?.error as { message: string }).message).toMatch(/the credentials \[(secret|redacted)\] may not POST/);

  // 5. A refused reboot is recorded on the server's row, with the cloud's message (not masked by Pulumi).
  proxy.refuseNext({ method: 'POST', pathPrefix: '/servers/', status: 403, code: 'forbidden' });
  await world.records.reboot('demo');
  expect((await runCli(world.cliEnv, 'reconcile', 'demo', '--wait')).code).toBe(0);
  const refusedReboot = (await world.records.servers({ serverType: 'demo', status: 'errored' })).find((server) => server.lastError?.message.includes('may not POST'));
  expect(refusedReboot?.lastError?.message).toMatch(/the credentials \[redacted\] may not POST/);

  expect(proxy.refused()).toBe(6);
  const leaks = [...everything(running), ...everything(crashing), ...cliLines].filter((line) => line.includes(TOKEN));
  expect(leaks).toEqual([]);
  // Nor in a row: the errors the cloud answered with the token are stored without it.
  const client = new pg.Client({ connectionString: world.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public'");
    for (const { table_name: table } of rows) {
      const found = await client.query(`select count(*)::int as n from "${table}" t where t::text like $1`, [`%${TOKEN}%`]);
      expect([table, found.rows[0].n]).toEqual([table, 0]);
    }
    expect((await client.query("select count(*)::int as n from server where last_error_message like '%[redacted]%' or last_error_message like '%[secret]%'")).rows[0].n).toBeGreaterThan(0);
  } finally {
    await client.end();
  }
  process.stdout.write(`redaction: ${running.lines.length + crashing.lines.length} worker lines and ${cliLines.length} --verbose lines, ${proxy.refused()} refusals repeating the token, 0 lines with the token\n`);
}, 300_000);
