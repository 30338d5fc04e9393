import type { Transaction } from './sql.ts';
import { bumpDesiredVersion, readTypeState } from './desired-state.ts';
import { noEffects, type Effects } from './effects.ts';
import { lockServerType } from './locks.ts';
import { selectServers } from './server-rows.ts';
import { moveServers, updateServers } from './server-writes.ts';

/** What a `reboot(type)` did. */
export interface RebootRequest {
  serverType: string;
  /** Running servers moved to `rebooting` now. */
  rebootingServerIds: number[];
  /**
   * Servers marked with `rebootRequestedAt` (or marked already): new and starting ones reboot once they run,
   * rebooting ones reboot once more when the current reboot ends.
   */
  deferredServerIds: number[];
  /** False when the type had no server to reboot: nothing was written. */
  changed: boolean;
  /** The type's desired-state version after the call (bumped only when `changed`). */
  version: number;
}

/**
 * Requests a reboot of every provisioned server of one type, in the caller's transaction under the type's lock:
 * running servers go to `rebooting` (history row, `rebooting` event, reboot work); the others get
 * `rebootRequestedAt` (kept if already set), a reboot asked for and not begun: new and starting servers reboot when
 * they reach `running`, and rebooting ones reboot again when their current reboot ends (as the original package
 * does), so a request during a reboot is never dropped. Bumps the desired-state version when anything changed.
 */
export async function requestReboot(tx: Transaction, serverType: string, now: Date): Promise<{ request: RebootRequest; effects: Effects }> {
  lockServerType(tx, serverType);
  const { provisioned, version } = await readTypeState(tx, serverType);
  const servers = await selectServers(tx, `s."type" = ? and s."status" in ('new', 'starting', 'running', 'rebooting')`, [serverType]);
  const running = servers.filter((server) => server.status === 'running');
  const notYetRunning = servers.filter((server) => server.status !== 'running' && server.rebootRequestedAt === null);
  const effects = noEffects();
  const request: RebootRequest = {
    serverType,
    rebootingServerIds: running.map((server) => server.id),
    deferredServerIds: notYetRunning.map((server) => server.id),
    changed: false,
    version,
  };
  if (request.rebootingServerIds.length + request.deferredServerIds.length === 0) return { request, effects };
  request.changed = true;
  request.version = version + 1;
  const { events } = await moveServers(tx, running, 'rebooting', 'reboot requested', now);
  updateServers(tx, request.deferredServerIds, { rebootRequestedAt: now }, now);
  effects.events.push(...events);
  effects.wake.push(serverType);
  bumpDesiredVersion(tx, serverType, request.version, provisioned, now);
  return { request, effects };
}
