// claimReboot and releaseRebootClaim on a real embedded PostgreSQL: one winner per request, even among many
// callers at once; the claim given back can be won again; running again clears it.
import { expect, test } from '@jest/globals';
import { InvalidInputError } from '../../src/api.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { publishTypes } from '../support/published-types.ts';
import { useRecordsDatabase, walk } from './support/records-database.ts';

const { database, opened } = useRecordsDatabase('records_reboot_claim');

async function open(): Promise<EngineRecords> {
  await publishTypes(database().url, { default: { provider: 'local' } });
  const servers = await EngineRecords.openForEngine({ databaseUrl: database().url });
  opened.push(servers);
  return servers;
}


/** The stored reboot_sent_at of server `id`, read directly. */
async function sentAt(id: number): Promise<Date | null> {
  const rows = await database().rows<{ reboot_sent_at: Date | null }>('select reboot_sent_at from server where id = $1', [id]);
  return rows[0]!.reboot_sent_at;
}


test('only a rebooting server can be claimed, once; release gives the claim back; running again clears it', async () => {
  const servers = await open();
  await servers.ensure('default', 2);
  await walk(servers, 1, 'starting', 'running');
  await walk(servers, 2, 'starting');

  expect(await servers.claimReboot(1)).toBe(false);
  expect(await servers.claimReboot(2)).toBe(false);
  expect(await servers.claimReboot(99)).toBe(false);
  expect(await sentAt(1)).toBeNull();

  await servers.reboot('default');
  expect(await servers.server(1)).toMatchObject({ status: 'rebooting', rebootSentAt: null });
  expect(await servers.claimReboot(1)).toBe(true);
  const claimed = await servers.server(1);
  expect(claimed.rebootSentAt).toBeInstanceOf(Date);
  expect((await servers.servers({ status: 'rebooting' }))[0]?.rebootSentAt).toEqual(claimed.rebootSentAt);
  expect(await servers.claimReboot(1)).toBe(false);
  const historyLength = (await servers.statusHistory(1)).length;

  expect(await servers.releaseRebootClaim(1)).toBe(true);
  expect(await sentAt(1)).toBeNull();
  expect(await servers.releaseRebootClaim(1)).toBe(false);
  expect(await servers.claimReboot(1)).toBe(true);
  expect((await servers.statusHistory(1)).length).toBe(historyLength);

  const running = await servers.recordTransition(1, 'running', { reason: 'rebooted' });
  expect(running).toMatchObject({ status: 'running', rebootRequestedAt: null, rebootSentAt: null });
  expect(await sentAt(1)).toBeNull();
  expect(await servers.releaseRebootClaim(1)).toBe(false);
  expect(await servers.claimReboot(1)).toBe(false);

  // The next request can be claimed again.
  await servers.reboot('default');
  expect(await servers.claimReboot(1)).toBe(true);
});

test('of 20 callers on two instances claiming at once, exactly one wins', async () => {
  const [first, second] = [await open(), await open()];
  await first.ensure('default', 1);
  await walk(first, 1, 'starting', 'running', 'rebooting');
  const results = await Promise.all(Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? first : second).claimReboot(1)));
  expect(results.filter(Boolean)).toHaveLength(1);
  expect(await sentAt(1)).toBeInstanceOf(Date);
});

test('bad ids are refused', async () => {
  const servers = await open();
  await expect(servers.claimReboot(0)).rejects.toThrow(InvalidInputError);
  await expect(servers.releaseRebootClaim(-1 as number)).rejects.toThrow(InvalidInputError);
});
