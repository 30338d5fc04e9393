// Recovery from updates that died (a worker killed mid-`pulumi up`, on any host, on any state backend): the Pulumi
// lock such an update leaves is cancelled, servers it created but the stack does not hold are adopted, and servers
// of this installation that neither a record nor the stack holds are deleted. The caller holds the type's stack
// lock (a PostgreSQL advisory lock), the one mutex of a type's updates.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Stack } from '@pulumi/pulumi/automation/index.js';
import { LABEL, serverTypeSelector, type ObservedServer, type ServerProvider } from '../../providers/contract.ts';
import type { ServerRecord } from '../records/records.ts';
import { StackBusyError } from './errors.ts';
import { isConcurrentUpdate, pendingOperations, stackLockOwners, stackResources, stackUrn, type StackLockOwner } from './pulumi-adapter.ts';

/** A server a dead update had created and the engine took into the stack instead of creating another. */
export interface AdoptedServer {
  /** The server's name (its row's, its resource's). */
  name: string;
  providerId: string;
}

/** What recovering a type's stack found and did during one reconcile. */
export interface RecoveryReport {
  /** Pulumi locks of dead updates that were cancelled (`stack.cancel()`), whatever backend or host they named. */
  staleLocks: StackLockOwner[];
  /** Operations the dead updates left unfinished (creates, deletes), seen once their locks were cancelled. */
  pendingOperations: number;
  /**
   * Pending creates dropped from the state once the update after the cancel had settled them (Pulumi keeps a pending
   * create until someone says what became of it; the engine adopted or recreated each, or its sweep deleted it).
   */
  pendingCreatesCleared: number;
  /** Servers found in the cloud for rows the stack did not hold, taken into the stack instead of created again. */
  adopted: AdoptedServer[];
}

/** A report of nothing recovered. */
export function emptyRecoveryReport(): RecoveryReport {
  return { staleLocks: [], pendingOperations: 0, pendingCreatesCleared: 0, adopted: [] };
}

/** True when the report says recovery did something. */
export function recoveredAnything(report: RecoveryReport): boolean {
  return report.staleLocks.length > 0 || report.pendingOperations > 0 || report.adopted.length > 0;
}

/**
 * True when process `pid` of this host may still be the Pulumi CLI that took a lock: it exists, is not a zombie (a
 * killed process its parent has not reaped yet) and, where /proc shows it, its command line names pulumi (the pid was
 * not given to some other program since).
 */
async function pulumiStillRuns(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return true;
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  if (state === 'Z' || state === 'X') return false;
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return commandLine.includes('pulumi');
}

/** How long a lock's owner on this host is given to finish dying (a process killed a moment ago may not be gone yet). */
const OWNER_EXIT_GRACE_MS = 5000;

/** The first of `owners` (on this host) whose Pulumi CLI still runs after OWNER_EXIT_GRACE_MS, or undefined. */
async function localOwnerStillRunning(owners: readonly StackLockOwner[]): Promise<StackLockOwner | undefined> {
  const deadline = Date.now() + OWNER_EXIT_GRACE_MS;
  for (;;) {
    const running = [];
    for (const owner of owners) if (await pulumiStillRuns(owner.pid!)) running.push(owner);
    if (running.length === 0 || Date.now() >= deadline) return running[0];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `update` (a `pulumi up` of `stack`) for a caller that holds the type's stack lock. No update of ours can then
 * hold the stack's Pulumi lock, so a refusal because the stack is locked (ConcurrentUpdateError, from a file://,
 * postgres:// or s3:// backend or from Pulumi Cloud) means an update that died: its lock is cancelled with
 * `stack.cancel()`, the owners and the dead update's pending operations are added to `report`, and `update` runs
 * once more. One exception: a lock taken on this host by a Pulumi CLI that still runs (one that outlived its killed
 * worker, finishing its steps) and is still running after a few seconds is a StackBusyError, retried later. A second
 * refusal is a StackBusyError.
 */
export async function upCancellingStaleLocks<T>(stack: Stack, update: () => Promise<T>, report: RecoveryReport): Promise<T> {
  try {
    return await update();
  } catch (error) {
    if (!isConcurrentUpdate(error)) throw error;
    const owners = stackLockOwners(error);
    const alive = await localOwnerStillRunning(owners.filter((owner) => owner.host === hostname() && owner.pid !== null));
    if (alive) throw new StackBusyError(`stack ${stack.name} is locked by process ${alive.pid} on this host (${alive.host}) since ${alive.since}, which still runs`, { cause: error });
    await stack.cancel();
    report.staleLocks.push(...owners);
    report.pendingOperations += pendingOperations(await stack.exportStack()).length;
  }
  try {
    return await update();
  } catch (error) {
    if (!isConcurrentUpdate(error)) throw error;
    throw new StackBusyError(`stack ${stack.name} was locked again right after its stale lock was cancelled: another update runs on it outside this engine`, { cause: error });
  }
}

/**
 * Drops the pending creates a dead update left in `stack`'s state (Pulumi keeps them, asking a human to say what
 * became of each), for a caller whose `up` and sweep have since settled them: each such server was adopted or
 * created again, or deleted as a leak. A targeted refresh of the stack resource alone with `--clear-pending-creates`:
 * no resource is read, no secret leaves the engine. Returns how many it dropped.
 */
export async function clearSettledPendingCreates(stack: Stack): Promise<number> {
  const deployment = await stack.exportStack();
  const creates = pendingOperations(deployment).filter((operation) => operation.type === 'creating').length;
  const urn = stackUrn(deployment);
  if (creates === 0 || urn === undefined) return 0;
  await stack.refresh({ clearPendingCreates: true, target: [urn] });
  return creates;
}

/** The names and cloud ids of the servers `stack` holds, read from its exported state. */
export async function stackHoldings(stack: Stack): Promise<{ names: Set<string>; ids: Set<string> }> {
  const resources = stackResources(await stack.exportStack());
  return { names: new Set(resources.map((resource) => resource.name)), ids: new Set(resources.map((resource) => resource.id)) };
}

/** Every server of installation `installation`'s type `serverType` in the cloud (one list call; no other installation's). */
export function listOwnServers(provider: ServerProvider, installation: string, serverType: string): Promise<ObservedServer[]> {
  return provider.api.list(serverTypeSelector(installation, serverType));
}

/**
 * The servers to adopt before an `up`: for each row of `rows` that waits to be created (status `new`, no cloud id)
 * and whose name the stack does not hold, the oldest server of `cloud` (this installation's servers of the type)
 * that carries the row's name as its `server-id` label and is not being deleted. Such a server was made by an
 * update that died before the state recorded it; creating the row's server again would make a second one (native
 * plugins) or fail on the taken name (Hetzner). Returns name → cloud id. Reads the stack (`holdings`) only when
 * there is a candidate.
 */
export async function serversToAdopt(
  rows: readonly ServerRecord[],
  cloud: readonly ObservedServer[],
  holdings: () => Promise<{ names: ReadonlySet<string> }>,
): Promise<Map<string, string>> {
  const adoptions = new Map<string, string>();
  const waiting = new Set(rows.filter((row) => row.status === 'new' && row.providerId === null).map((row) => row.name));
  const candidates = cloud
    .filter((server) => server.status !== 'deleting' && waiting.has(server.labels[LABEL.serverId] ?? ''))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.providerId.localeCompare(b.providerId, undefined, { numeric: true }));
  if (candidates.length === 0) return adoptions;
  const { names } = await holdings();
  for (const server of candidates) {
    const name = server.labels[LABEL.serverId]!;
    if (!names.has(name) && !adoptions.has(name)) adoptions.set(name, server.providerId);
  }
  return adoptions;
}

/** A server the sweep deleted: the name it carried (its `server-id` label, or its cloud name) and its cloud id. */
export interface LeakedServer {
  name: string;
  providerId: string;
}

/**
 * Deletes, through the provider's API, the servers of `cloud` (this installation's servers of one type, listed after
 * the `up`) that are not being deleted and whose cloud id neither a record (`recordedIds`) nor the stack holds: what
 * a crash between the cloud's answer and the state's write leaves, and duplicates that copy a record's labels. The
 * stack is read (`holdings`) only when some server is not recorded. Servers of other installations are never
 * listed, so never touched. Returns the servers it deleted.
 */
export async function deleteLeakedServers(
  provider: ServerProvider,
  cloud: readonly ObservedServer[],
  recordedIds: ReadonlySet<string>,
  holdings: () => Promise<{ ids: ReadonlySet<string> }>,
): Promise<LeakedServer[]> {
  const unrecorded = cloud.filter((server) => server.status !== 'deleting' && !recordedIds.has(server.providerId));
  if (unrecorded.length === 0) return [];
  const { ids } = await holdings();
  const deleted: LeakedServer[] = [];
  for (const server of unrecorded) {
    if (ids.has(server.providerId)) continue;
    await provider.api.delete(server.providerId);
    deleted.push({ name: server.labels[LABEL.serverId] ?? server.name, providerId: server.providerId });
  }
  return deleted;
}
