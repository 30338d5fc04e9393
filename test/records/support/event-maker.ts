// A separate OS process for the cross-process event test: opens its own DynamicServers on DATABASE_URL, makes
// the changes the test expects to hear about, prints the ids it touched as one JSON line, and exits.
import { EngineRecords } from '../../../src/records/engine-records.ts';

const records = await EngineRecords.openForEngine({ databaseUrl: process.env.DATABASE_URL! });
try {
  const change = await records.ensure('alpha', 2);
  const [first, second] = change.createdServerIds as [number, number];
  await records.recordTransition(first, 'starting', { reason: 'created by the cloud', providerId: 'cloud-1' });
  await records.recordTransition(first, 'running', { reason: 'booted', meta: { note: 'x'.repeat(10_000) } });
  const failure = new Error('the cloud refused it');
  failure.stack = `Error: the cloud refused it\n${'    at somewhere (file.ts:1:1)\n'.repeat(600)}`;
  await records.recordTransition(second, 'errored', { reason: 'create failed', error: failure });
  await records.increase('alpha', 5);
  process.stdout.write(`${JSON.stringify({ first, second })}\n`);
} finally {
  await records.close();
}
