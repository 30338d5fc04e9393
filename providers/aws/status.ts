import type { StatusMapping } from '../contract.ts';

/**
 * EC2 instance states onto ours. `shutting-down` is `deleting`. The sixth documented state, `terminated`, is not
 * in the table: a terminated instance is gone for good (EC2 only keeps showing it for a while), so the API side
 * answers ServerNotFoundError for it and leaves it out of lists. EC2 has no rebooting state: a reboot keeps the
 * instance `running`.
 */
export const EC2_INSTANCE_STATES: StatusMapping = {
  pending: 'starting',
  running: 'running',
  stopping: 'stopping',
  stopped: 'stopped',
  'shutting-down': 'deleting',
};

/** The state of an instance that no longer exists. */
export const TERMINATED = 'terminated';
