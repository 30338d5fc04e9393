// Progress of long commands: timestamped lines when the output is not a terminal, lines redrawn in place when it is.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { ServerProgress, type ProgressStream } from '../../src/cli/progress.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { publishTypes } from '../support/published-types.ts';
import { startRecordsDatabase, type RecordsDatabase } from '../records/support/records-database.ts';

let database: RecordsDatabase;
let records: EngineRecords;

beforeAll(async () => {
  database = await startRecordsDatabase('cli_progress');
  await publishTypes(database.url, { demo: { provider: 'local' }, other: { provider: 'local' } });
  records = await EngineRecords.openForEngine({ databaseUrl: database.url });
});

afterAll(async () => {
  await records?.close();
  await database?.stop();
});

function capture(tty: boolean): { stream: ProgressStream; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (tty) Object.assign(stream, { isTTY: true, columns: 100, rows: 30 });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

test('not a terminal: one timestamped line per change of the watched type, and steps', async () => {
  const out = capture(false);
  const progress = new ServerProgress(records, { serverTypes: ['demo'], out: out.stream });
  const { createdServerIds } = await records.ensure('demo', 2);
  await records.ensure('other', 1);
  await records.recordTransition(createdServerIds[0]!, 'starting', { reason: 'pulumi up created it', providerId: 'p-1' });
  progress.step('ensure(demo, 2) ...');
  progress.stop();
  await records.recordTransition(createdServerIds[0]!, 'running', { reason: 'after stop: not shown' });
  const lines = out.text().trimEnd().split('\n');
  expect(lines).toHaveLength(4);
  expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z demo-1-[0-9a-f]{8}: - -> new \(ensure\(demo, 2\)\)$/);
  expect(lines[1]).toMatch(/Z demo-2-[0-9a-f]{8}: - -> new/);
  expect(lines[2]).toMatch(/Z demo-1-[0-9a-f]{8}: new -> starting \(pulumi up created it\)$/);
  expect(lines[3]).toMatch(/^\d{4}-.*Z ensure\(demo, 2\) \.\.\.$/);
  expect(out.text()).not.toContain('\u001b[');
});

test('a terminal: the servers are redrawn in place, steps stay above them', async () => {
  const out = capture(true);
  const progress = new ServerProgress(records, { serverTypes: ['demo'], out: out.stream });
  progress.track(await records.servers({ serverType: 'demo' }));
  const [first] = await records.servers({ serverType: 'demo', status: ['new'] });
  await records.recordTransition(first!.id, 'starting', { reason: 'pulumi up created it', providerId: 'p-2' });
  progress.step('a step');
  progress.stop();
  const text = out.text();
  expect(text).toContain('\u001b[');
  expect(text).toContain('a step');
  // The last frame shows both servers with their current status.
  const lastFrame = text.slice(text.lastIndexOf('a step'));
  expect(lastFrame).toMatch(/demo-1-[0-9a-f]{8}\s+running/);
  expect(lastFrame).toMatch(/demo-2-[0-9a-f]{8}\s+starting\s+\d+\.\d s\s+pulumi up created it/);
});

test('a type whose creates pause after repeated failures shows as a step with the pause', async () => {
  const out = capture(false);
  const progress = new ServerProgress(records, { serverTypes: ['other'], out: out.stream });
  for (const id of (await records.servers({ serverType: 'other', status: 'new' })).map((server) => server.id)) {
    await records.recordTransition(id, 'starting', { reason: 'pulumi up created it', providerId: `p-${id}` });
    await records.recordFailure(id, 'hanging', { reason: 'still starting after the 1 s timeout' });
  }
  const [replacement] = await records.servers({ serverType: 'other', status: 'new' });
  await records.recordTransition(replacement!.id, 'starting', { reason: 'pulumi up created it', providerId: 'p-r' });
  await records.recordFailure(replacement!.id, 'hanging', { reason: 'still starting after the 1 s timeout' });
  progress.stop();
  expect(out.text()).toMatch(/Z other: 2 creates failed in a row; new servers wait 30 s \(until \S+Z\)\n/);
});
