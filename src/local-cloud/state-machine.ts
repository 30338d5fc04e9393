// The life of one server in the local cloud. Its statuses are the Hetzner Cloud API's, plus `rebooting`: the
// simulator's name for a server inside a reboot, which the API shows as Hetzner does (status `running`, with a
// running `reboot_server` action). Steps end lazily: a server's status is worked out from the clock whenever it is
// read, so the cloud needs no timers and stopping it leaves nothing behind.
import { CloudApiError } from './errors.ts';

/** Every server status the Hetzner Cloud API documents. */
export const HETZNER_SERVER_STATUSES = ['initializing', 'starting', 'running', 'stopping', 'off', 'deleting', 'migrating', 'rebuilding', 'unknown'] as const;

/** A server status as the API reports it. */
export type HetznerServerStatus = (typeof HETZNER_SERVER_STATUSES)[number];

/** The statuses a server of the local cloud can be in: Hetzner's, and `rebooting`. */
export type CloudStatus = HetznerServerStatus | 'rebooting';

/** The statuses that last a while and then end by themselves (unless a fault makes them hang). */
export const STEPS = ['initializing', 'starting', 'stopping', 'rebooting', 'deleting'] as const;

/** A status that is a step. */
export type Step = (typeof STEPS)[number];

/** How long each step takes, in milliseconds. */
export type StepDelays = Record<Step, number>;

/** Where a step ends: a settled status, or `gone` when the server no longer exists. */
export type StepOutcome = CloudStatus | 'gone';

const STEP_OUTCOME: Record<Step, StepOutcome> = {
  initializing: 'running',
  starting: 'running',
  stopping: 'off',
  rebooting: 'running',
  deleting: 'gone',
};

/** The commands that change a server's status, named as the API's action commands are. */
export type Command = 'create_server' | 'start_server' | 'stop_server' | 'shutdown_server' | 'reboot_server' | 'reset_server' | 'delete_server';

/** A server's status and, while it is in a step, when the step ends (null: it never does) and what follows. */
export interface Lifecycle {
  status: CloudStatus;
  stepEndsAt: number | null;
  /** What the step ends in, when not its usual outcome (a server created without starting ends `off`). */
  then?: StepOutcome;
}

/** True when `status` is a step. */
export function isStep(status: CloudStatus): status is Step {
  return (STEPS as readonly string[]).includes(status);
}

/** The status the API reports for a server in `status`: Hetzner shows a reboot only as an action. */
export function apiStatus(status: CloudStatus): HetznerServerStatus {
  return status === 'rebooting' ? 'running' : status;
}

/** The lifecycle of a server entering `step` at `now`: it ends after its delay (in `then` if given), or never when `hangs`. */
export function enterStep(step: Step, now: number, delays: StepDelays, hangs: boolean, then?: StepOutcome): Lifecycle {
  return { status: step, stepEndsAt: hangs ? null : now + delays[step], ...(then === undefined ? {} : { then }) };
}

/**
 * What `lifecycle` has become at `now`: unchanged while its step runs; the step's outcome (or `gone`) once the
 * step ended, with the time it ended.
 */
export function settle(lifecycle: Lifecycle, now: number): { status: StepOutcome; endedAt?: number } {
  if (!isStep(lifecycle.status) || lifecycle.stepEndsAt === null || now < lifecycle.stepEndsAt) {
    return { status: lifecycle.status };
  }
  return { status: lifecycle.then ?? STEP_OUTCOME[lifecycle.status], endedAt: lifecycle.stepEndsAt };
}

/** What a command does to a server in a given status: start a step, or nothing (already there). */
export type Transition = { step: Step } | { noop: true };

const LOCKED = (status: CloudStatus) => new CloudApiError('locked', `the server is ${apiStatus(status)}: wait for its running action to finish`);

/**
 * The step `command` starts from `status`, or `{ noop: true }` when the server is already where the command
 * leads. Throws a CloudApiError: 423 `locked` while another step runs (or the server is migrating, rebuilding or
 * in an unknown state), 422 `unsupported_error` when the command makes no sense in that status (rebooting a server
 * that is off).
 */
export function transition(status: CloudStatus, command: Exclude<Command, 'create_server'>): Transition {
  switch (command) {
    case 'delete_server':
      return status === 'deleting' ? { noop: true } : { step: 'deleting' };
    case 'shutdown_server':
      if (status === 'running') return { step: 'stopping' };
      if (status === 'off') return { noop: true };
      throw LOCKED(status);
    case 'stop_server':
      if (status === 'running' || status === 'starting' || status === 'rebooting' || status === 'stopping') return { step: 'stopping' };
      if (status === 'off') return { noop: true };
      throw LOCKED(status);
    case 'start_server':
      if (status === 'off') return { step: 'starting' };
      if (status === 'running') return { noop: true };
      throw LOCKED(status);
    case 'reboot_server':
    case 'reset_server':
      if (status === 'running') return { step: 'rebooting' };
      if (status === 'off') throw new CloudApiError('unsupported_error', 'the server is off: power it on instead of rebooting it');
      throw LOCKED(status);
  }
}
