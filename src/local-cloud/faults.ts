// Fault injection for the local cloud: failing requests (at a rate or the next N), steps that hang, and responses
// lost after the cloud took the action. Rates draw from a seeded generator so a run can be repeated.
import { ERROR_STATUS, LocalCloudConfigError } from './errors.ts';
import type { Step } from './state-machine.ts';

/** Faults that apply at a rate or for as long as they are set. */
export interface FaultSettings {
  /** Fraction (0..1) of API requests answered with 500 `server_error` before anything is done. */
  errorRate: number;
  /** Fraction (0..1) of successful mutating requests (POST, DELETE) whose response is dropped after the action was taken. */
  lostResponseRate: number;
  /** Steps that never end for a server entering them while set (e.g. `['initializing']`: servers never boot). */
  hangIn: Step[];
  /** Snapshots (by description) whose servers never finish `initializing`: a broken image. */
  brokenSnapshots: string[];
}

/**
 * Which requests a one-shot fault applies to: a method, a path prefix, and an exact path, each after `/v1` and
 * without the query (all optional; `path: '/servers'` is the list and create, not `/servers/{id}`).
 */
export interface RequestMatch {
  method?: string;
  pathPrefix?: string;
  path?: string;
}

/** An error answer to inject into the next `count` matching requests. */
export interface InjectedError {
  count: number;
  /** The error code; a code the Hetzner API documents brings its own HTTP status. */
  code: string;
  /** The HTTP status; required only for a code the API does not document. */
  status?: number;
  /** The error message (default `injected fault`). */
  message?: string;
  match?: RequestMatch;
  /** Seconds for a Retry-After header on the injected answer. */
  retryAfterSeconds?: number;
}

/** The faults in force when nothing was configured. */
export const NO_FAULTS: FaultSettings = { errorRate: 0, lostResponseRate: 0, hangIn: [], brokenSnapshots: [] };

/** A small seeded pseudo-random generator (mulberry32): numbers in [0, 1). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matches(match: RequestMatch | undefined, method: string, path: string): boolean {
  if (!match) return true;
  return (!match.method || match.method.toUpperCase() === method) && (!match.pathPrefix || path.startsWith(match.pathPrefix)) && (match.path === undefined || path === match.path);
}

/** Decides, request by request, which faults strike. */
export class FaultInjector {
  settings: FaultSettings;
  readonly #random: () => number;
  readonly #errors: InjectedError[] = [];
  #responsesToLose = 0;

  constructor(settings: FaultSettings, seed: number) {
    this.settings = settings;
    this.#random = seededRandom(seed);
  }

  /**
   * Answers the next `error.count` requests matching `error.match` with that error, before anything is done.
   * Throws LocalCloudConfigError for a code the API does not document given without a status.
   */
  failNext(error: InjectedError): void {
    if (error.status === undefined && ERROR_STATUS[error.code] === undefined) {
      throw new LocalCloudConfigError(`error code '${error.code}' is not one the API documents: give its HTTP status`);
    }
    if (error.count > 0) this.#errors.push({ ...error });
  }

  /** Drops the response of the next `count` successful mutating requests, after the action was taken. */
  loseNextResponses(count: number): void {
    this.#responsesToLose += count;
  }

  /** Forgets every pending one-shot fault. */
  clearPending(): void {
    this.#errors.length = 0;
    this.#responsesToLose = 0;
  }

  /** The error to answer `method path` with instead of handling it, if one strikes. */
  errorFor(method: string, path: string): Omit<InjectedError, 'count' | 'match'> | undefined {
    const pending = this.#errors.find((error) => matches(error.match, method, path));
    if (pending) {
      pending.count -= 1;
      if (pending.count <= 0) this.#errors.splice(this.#errors.indexOf(pending), 1);
      return { code: pending.code, status: pending.status, message: pending.message, retryAfterSeconds: pending.retryAfterSeconds };
    }
    if (this.settings.errorRate > 0 && this.#random() < this.settings.errorRate) {
      return { code: 'server_error' };
    }
    return undefined;
  }

  /** True when the response to a successful mutating request is to be dropped. */
  losesResponse(): boolean {
    if (this.#responsesToLose > 0) {
      this.#responsesToLose -= 1;
      return true;
    }
    return this.settings.lostResponseRate > 0 && this.#random() < this.settings.lostResponseRate;
  }

  /** True when a server entering `step` now stays in it forever; `snapshot` is the image a new server boots from. */
  hangs(step: Step, snapshot?: string): boolean {
    return this.settings.hangIn.includes(step) || (step === 'initializing' && snapshot !== undefined && this.settings.brokenSnapshots.includes(snapshot));
  }
}
