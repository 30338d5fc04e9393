// The pure parts of crash recovery: reading who holds a stack's lock out of the Automation API's refusal (any DIY
// backend, or Pulumi Cloud), what the stack holds, which servers to adopt, and which to sweep.
import { expect, test } from '@jest/globals';
import { ConcurrentUpdateError } from '@pulumi/pulumi/automation/index.js';
import type { ObservedServer, ServerApi, ServerProvider } from '../../providers/contract.ts';
import { serverLabels } from '../../providers/contract.ts';
import { isConcurrentUpdate, stackLockOwners, stackResources, stackUrn } from '../../src/engine/pulumi-adapter.ts';
import { deleteLeakedServers, serversToAdopt } from '../../src/engine/recovery.ts';
import type { ServerRecord } from '../../src/records/records.ts';

/** A refusal as the CLI words it for a DIY backend (the error's text holds the CLI's output twice). */
const lockedText = (url: string) =>
  `code: 255\n stdout: \n stderr: error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.\n` +
  `  ${url}/.pulumi/locks/organization/dynamic-servers/demo/5b1a.json: created by root@host-3 (pid 4242) at 2026-11-30T10:00:00Z\n` +
  `err?: Error: the stack is currently locked by 1 lock(s).\n  ${url}/.pulumi/locks/organization/dynamic-servers/demo/5b1a.json: created by root@host-3 (pid 4242) at 2026-11-30T10:00:00Z\n`;

const refusal = (stderr: string) => new ConcurrentUpdateError({ stdout: '', stderr, code: 255, toString: () => stderr } as never);

test('the owners of a stale lock are read the same from file:// and postgres:// refusals, each once; Pulumi Cloud names none', () => {
  for (const url of ['file:///var/lib/state', 'postgres://****:****@127.0.0.1:5432/db?table=pulumi_state']) {
    const error = refusal(lockedText(url));
    expect(isConcurrentUpdate(error)).toBe(true);
    expect(stackLockOwners(error)).toEqual([{ owner: 'root@host-3', host: 'host-3', pid: 4242, since: '2026-11-30T10:00:00Z' }]);
  }
  expect(stackLockOwners(refusal('error: [409] Conflict: Another update is currently in progress.'))).toEqual([{ owner: 'unknown', host: 'unknown', pid: null, since: null }]);
  expect(isConcurrentUpdate(new Error('the stack is currently locked by 1 lock(s)'))).toBe(false);
});

test('what a stack holds: its servers with cloud ids, never the stack resource or a provider; and the stack resource’s URN', () => {
  const deployment = {
    deployment: {
      resources: [
        { urn: 'urn:pulumi:demo::dynamic-servers::pulumi:pulumi:Stack::dynamic-servers-demo', type: 'pulumi:pulumi:Stack', custom: false },
        { urn: 'urn:pulumi:demo::dynamic-servers::pulumi:providers:hcloud::demo-1', type: 'pulumi:providers:hcloud', custom: true, id: 'abc' },
        { urn: 'urn:pulumi:demo::dynamic-servers::hcloud:index/server:Server::demo-1', type: 'hcloud:index/server:Server', custom: true, id: '42' },
      ],
    },
  };
  expect(stackResources(deployment)).toEqual([{ name: 'demo-1', type: 'hcloud:index/server:Server', id: '42' }]);
  expect(stackUrn(deployment)).toBe('urn:pulumi:demo::dynamic-servers::pulumi:pulumi:Stack::dynamic-servers-demo');
});

const row = (name: string, status: ServerRecord['status'], providerId: string | null = null) => ({ name, status, providerId }) as ServerRecord;
const server = (providerId: string, serverId: string, createdAt: string, status: ObservedServer['status'] = 'starting'): ObservedServer => ({
  providerId,
  name: serverId,
  status,
  cloudStatus: status,
  labels: serverLabels({ installation: '3f9a0c1d', serverType: 'demo', serverId }),
  createdAt,
});

test('a row waiting to be created adopts the oldest live server carrying its id, unless the stack holds its name', async () => {
  const rows = [row('demo-1', 'new'), row('demo-2', 'new'), row('demo-3', 'running', '7'), row('demo-4', 'new')];
  const cloud = [
    server('11', 'demo-1', '2026-11-30T10:00:02Z'),
    server('10', 'demo-1', '2026-11-30T10:00:01Z'),
    server('12', 'demo-2', '2026-11-30T10:00:00Z'),
    server('7', 'demo-3', '2026-11-30T09:00:00Z', 'running'),
    server('13', 'demo-4', '2026-11-30T10:00:00Z', 'deleting'),
  ];
  let reads = 0;
  const holdings = async () => {
    reads += 1;
    return { names: new Set(['demo-2', 'demo-3']) };
  };
  expect(Object.fromEntries(await serversToAdopt(rows, cloud, holdings))).toEqual({ 'demo-1': '10' });
  expect(reads).toBe(1);
  expect(Object.fromEntries(await serversToAdopt(rows, [server('7', 'demo-3', '2026-11-30T09:00:00Z', 'running')], holdings))).toEqual({});
  expect(reads).toBe(1);
});

test('the sweep deletes, by cloud id, what neither a record nor the stack holds, and reads the stack only when it must', async () => {
  const deleted: string[] = [];
  const api = { delete: async (providerId: string) => void deleted.push(providerId) } as unknown as ServerApi;
  const provider = { api } as ServerProvider;
  let reads = 0;
  const holdings = async () => {
    reads += 1;
    return { ids: new Set(['21']) };
  };
  const cloud = [server('20', 'demo-1', 'x', 'running'), server('21', 'demo-2', 'x'), server('22', 'demo-1', 'x', 'running'), server('23', 'demo-5', 'x', 'deleting')];
  expect(await deleteLeakedServers(provider, cloud, new Set(['20']), holdings)).toEqual([{ name: 'demo-1', providerId: '22' }]);
  expect(deleted).toEqual(['22']);
  expect(reads).toBe(1);
  expect(await deleteLeakedServers(provider, cloud.slice(0, 1), new Set(['20']), holdings)).toEqual([]);
  expect(reads).toBe(1);
});
