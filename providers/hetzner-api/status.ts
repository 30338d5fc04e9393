// The server statuses of the Hetzner Cloud API (and of the local cloud, which reports the same), onto ours.
import type { ObservedStatus, StatusMapping } from '../contract.ts';

/**
 * Every server status the Hetzner Cloud API documents, onto ours. `off` is `stopped`; `unknown` is `errored`.
 * `migrating` and `rebuilding` are steps this project never starts (it replaces a server rather than rebuild
 * or resize it); the server is busy and comes back by itself, so they read as `starting` and the engine's step
 * timeout guards them like any start.
 */
export const HETZNER_STATUS_MAPPING: StatusMapping = {
  initializing: 'starting',
  starting: 'starting',
  running: 'running',
  stopping: 'stopping',
  off: 'stopped',
  deleting: 'deleting',
  migrating: 'starting',
  rebuilding: 'starting',
  unknown: 'errored',
};

/**
 * What a running action of these commands means for a server the API still reports as `running`: Hetzner has no
 * `rebooting` status, a reboot shows only as a running `reboot_server` (or `reset_server`) action.
 */
export const RUNNING_ACTION_STATUSES: Readonly<Record<string, ObservedStatus>> = {
  reboot_server: 'rebooting',
  reset_server: 'rebooting',
  shutdown_server: 'stopping',
  stop_server: 'stopping',
  delete_server: 'deleting',
};
