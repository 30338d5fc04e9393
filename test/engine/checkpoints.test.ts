// The engine's updates write the stack's state once, when they end, not at every step (each write is the whole
// state): the file backend's state file of the stack, watched while one `up` creates 8 servers.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { watch } from 'node:fs';
import { join } from 'node:path';
import { startEngineWorld, type EngineWorld } from '../support/engine-world.ts';
import { pollFor } from '../support/poll.ts';

let world: EngineWorld;

beforeAll(async () => {
  world = await startEngineWorld({ cloud: { delays: { initializing: 0, starting: 0, stopping: 0, rebooting: 0, deleting: 0 } } });
});

afterAll(async () => {
  await world?.close();
});

test('one up creating 8 servers writes the stack state once, not once per step', async () => {
  // The stack exists (and its state file) after a first update.
  await world.records.ensure('demo', 1);
  await world.engine.converge('demo');
  const stacks = join(world.dataDir, 'state', '.pulumi', 'stacks');
  // The backend writes the state to `demo.json.<random>.tmp` and renames that over `demo.json`: one temp name per write.
  const writes = new Set<string>();
  const watcher = watch(stacks, { recursive: true }, (_event, file) => {
    if (file && /(^|\/)demo\.json\.[0-9a-f]+\.tmp$/.test(file)) writes.add(file);
  });
  try {
    await world.records.ensure('demo', 9);
    const report = await world.engine.reconcile('demo');
    expect(report.starting).toHaveLength(8);
    // The last write ends the update just before it returns: its event can still be on its way to the watcher.
    await pollFor('the watcher to see the state written', 10_000, () => (writes.size > 0 ? true : undefined), 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    watcher.close();
  }
  // A checkpoint per step would be a write at each create's start and end.
  expect(writes.size).toBe(1);
});
