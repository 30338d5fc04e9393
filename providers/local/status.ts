import type { StatusMapping } from '../contract.ts';

/**
 * The local cloud's statuses (the Hetzner Cloud API's names, plus `rebooting`) onto ours. `off` is `stopped`;
 * `unknown` (Hetzner's status for a server in trouble) is `errored`. A server that hangs keeps reporting its
 * step; the engine's timeouts turn that into `hanging`.
 */
export const LOCAL_CLOUD_STATUSES: StatusMapping = {
  initializing: 'starting',
  starting: 'starting',
  running: 'running',
  rebooting: 'rebooting',
  stopping: 'stopping',
  off: 'stopped',
  deleting: 'deleting',
  unknown: 'errored',
};
