import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Stack } from '@pulumi/pulumi/automation/index.js';
import { LABEL, serverTypeSelector, type ServerProvider } from '../../providers/contract.ts';
import { StackBusyError } from './errors.ts';
import { pendingOperations, readStackLocks } from './pulumi-adapter.ts';

/** What recovering a stack found and did. */
export interface RecoveryReport {
  /** Lock files of dead updates that were removed. */
  staleLocksRemoved: number;
  /** Operations a dead update left unfinished (creates, deletes); the next `up` settles them. */
  pendingOperations: number;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Makes a stack usable after a worker died during `up`. The caller holds the type's stack lock, so a Pulumi lock
 * left on the stack belongs to a dead or foreign update: it is removed only when its owner is provably gone (same
 * host, process not running); otherwise StackBusyError. Reports the pending operations the dead update left;
 * the next `up` settles them (creates adopt the labelled server, deletes treat not-found as done).
 * Only file:// backends keep lock files the engine can inspect; for others this finds nothing to do.
 */
export async function recoverStack(stack: Stack, backendUrl: string, project: string): Promise<RecoveryReport> {
  if (!backendUrl.startsWith('file://')) return { staleLocksRemoved: 0, pendingOperations: 0 };
  const locks = await readStackLocks(fileURLToPath(backendUrl), project, stack.name);
  if (locks.length === 0) return { staleLocksRemoved: 0, pendingOperations: 0 };
  const live = locks.filter((lock) => lock.hostname !== hostname() || processAlive(lock.pid));
  if (live.length > 0) {
    const owner = live[0]!;
    throw new StackBusyError(`stack ${stack.name} is locked by process ${owner.pid} on ${owner.hostname} since ${owner.timestamp}, which may still be running`);
  }
  await stack.cancel();
  const pending = pendingOperations(await stack.exportStack());
  return { staleLocksRemoved: locks.length, pendingOperations: pending.length };
}

/**
 * Deletes, through the provider's API, servers of `serverType` that carry this project's labels but whose
 * server is not declared by the stack (names in `declared`) and is not already being deleted: what a crash
 * between the cloud's answer and the state's write can leave. Returns the names it deleted.
 */
export async function deleteLeakedServers(provider: ServerProvider, serverType: string, declared: ReadonlySet<string>): Promise<string[]> {
  const deleted: string[] = [];
  for (const server of await provider.api.list(serverTypeSelector(serverType))) {
    const name = server.labels[LABEL.serverId] ?? server.name;
    if (declared.has(name) || server.status === 'deleting') continue;
    await provider.api.delete(server.providerId);
    deleted.push(name);
  }
  return deleted;
}
