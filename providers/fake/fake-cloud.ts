// A fake cloud for engine tests: servers kept as one JSON file each in a state directory, so the Pulumi side
// (running in the engine's dynamic-provider plugin, another process) and the test (the API side) see the same
// servers. Faults are one-shot errors queued per operation and "endless" variants: servers that never start,
// never stop or are never deleted. Statuses are worked out from the clock when read, so nothing runs in the
// background. Each server keeps the steps it entered, also once it is gone, so a test can read every status it
// went through (statusHistory) instead of hoping to catch a short one by polling. Writes are atomic (write then rename); two processes changing the same server at the same
// moment is not supported.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  identityLabels,
  InvalidRequestError,
  LABEL,
  providerErrorOfKind,
  ServerNotFoundError,
  type Labels,
  type ObservedServer,
  type ObservedStatus,
  type ProviderErrorKind,
  type ServerApi,
  type ServerStatus,
  type SnapshotTemplate,
} from '../contract.ts';

/** The operations a one-shot fault can strike. */
export type FakeOperation = 'create' | 'delete' | 'observe' | 'list' | 'stop' | 'reboot';

/** Servers that get stuck: never leave `starting`, `stopping` or `deleting`. */
export type EndlessVariant = 'never-starts' | 'never-stops' | 'never-deleted';

/** How the fake's servers behave; applies to every transition started while it is set. */
export interface FakeBehaviour {
  /** Milliseconds each step takes (default 0: the next observe sees it done). */
  delays: { starting: number; stopping: number; rebooting: number; deleting: number };
  endless: EndlessVariant[];
}

type Phase = 'starting' | 'running' | 'rebooting' | 'stopping' | 'stopped' | 'deleting';

/** A step a server entered: when, and how long it was to last (null: for ever). */
export interface FakeStep {
  phase: 'starting' | 'rebooting' | 'stopping' | 'deleting';
  at: number;
  ms: number | null;
}

/** One server of the fake cloud, as stored. */
export interface FakeServerRecord {
  id: string;
  name: string;
  labels: Record<string, string>;
  template: SnapshotTemplate;
  createdAt: number;
  phase: Phase;
  phaseSince: number;
  /** How long the phase lasts; null: it never ends. Settled phases (running, stopped) ignore it. */
  phaseMs: number | null;
  /** Every step the server entered, oldest first. */
  history: FakeStep[];
}

/** What a server is created from. */
export interface FakeServerSpec {
  name: string;
  labels: Labels;
  template: SnapshotTemplate;
}

const DEFAULT_BEHAVIOUR: FakeBehaviour = { delays: { starting: 0, stopping: 0, rebooting: 0, deleting: 0 }, endless: [] };
const OUTCOME = { starting: 'running', rebooting: 'running', stopping: 'stopped', deleting: 'gone' } as const;
const OPERATIONS: readonly FakeOperation[] = ['create', 'delete', 'observe', 'list', 'stop', 'reboot'];
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function writeAtomically(path: string, value: unknown): void {
  const temporary = `${path}.${randomUUID()}.tmp`;
  writeFileSync(temporary, JSON.stringify(value));
  renameSync(temporary, path);
}

/** The fake cloud in `stateDir` (created when missing). Every instance on the same directory sees the same servers. */
export class FakeCloud implements ServerApi {
  readonly stateDir: string;

  constructor(stateDir: string) {
    this.stateDir = stateDir;
    mkdirSync(join(stateDir, 'servers'), { recursive: true });
    mkdirSync(join(stateDir, 'gone'), { recursive: true });
    for (const operation of OPERATIONS) mkdirSync(join(stateDir, 'faults', operation), { recursive: true });
  }

  // -- control (tests) ---------------------------------------------------------------------------------------

  /** Changes how servers behave from now on; unnamed fields keep their value. */
  setBehaviour(behaviour: Partial<FakeBehaviour>): void {
    const current = this.behaviour();
    writeAtomically(join(this.stateDir, 'behaviour.json'), {
      delays: { ...current.delays, ...behaviour.delays },
      endless: behaviour.endless ?? current.endless,
    });
  }

  /** How servers behave now. */
  behaviour(): FakeBehaviour {
    try {
      return JSON.parse(readFileSync(join(this.stateDir, 'behaviour.json'), 'utf8')) as FakeBehaviour;
    } catch {
      return DEFAULT_BEHAVIOUR;
    }
  }

  /** Makes the next `count` calls of `operation` (from any process) throw a ProviderError of `kind`, doing nothing. */
  injectOnce(operation: FakeOperation, kind: ProviderErrorKind, count = 1): void {
    if (!OPERATIONS.includes(operation)) throw new InvalidRequestError(`unknown fake operation '${operation}'`);
    for (let index = 0; index < count; index += 1) {
      writeAtomically(join(this.stateDir, 'faults', operation, `${Date.now()}-${String(index).padStart(6, '0')}-${randomUUID()}.json`), { kind });
    }
  }

  /** How many injected faults are still waiting for `operation`. */
  pendingFaults(operation: FakeOperation): number {
    return readdirSync(join(this.stateDir, 'faults', operation)).filter((file) => file.endsWith('.json')).length;
  }

  /** Every server that exists now (being deleted included), oldest first. */
  servers(): FakeServerRecord[] {
    return readdirSync(join(this.stateDir, 'servers'))
      .filter((file) => file.endsWith('.json'))
      .map((file) => this.#current(file.slice(0, -'.json'.length)))
      .filter((record): record is FakeServerRecord => record !== undefined)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /**
   * Every status server `id` went through, oldest first, in our terms (`deleted` once it is gone), however short
   * each step was; empty for an id the cloud never had.
   */
  statusHistory(id: string): ServerStatus[] {
    const record = this.#current(id) ?? this.#read(join(this.stateDir, 'gone', `${id}.json`));
    if (!record) return [];
    const statuses: ServerStatus[] = [];
    const push = (status: ServerStatus) => {
      if (statuses.at(-1) !== status) statuses.push(status);
    };
    record.history.forEach((step, index) => {
      push(step.phase);
      const endedBefore = record.history[index + 1]?.at ?? Date.now();
      const outcome = OUTCOME[step.phase];
      if (step.ms !== null && step.at + step.ms <= endedBefore) push(outcome === 'gone' ? 'deleted' : outcome);
    });
    return statuses;
  }

  // -- internals ---------------------------------------------------------------------------------------------

  #read(path: string): FakeServerRecord | undefined {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as FakeServerRecord;
    } catch {
      return undefined;
    }
  }

  /** Throws the first pending fault of `operation`, if any (taken atomically: only one caller gets it). */
  #strike(operation: FakeOperation): void {
    const dir = join(this.stateDir, 'faults', operation);
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.json')).sort()) {
      const taken = join(dir, `${file}.taken`);
      try {
        renameSync(join(dir, file), taken);
      } catch {
        continue; // another process took it
      }
      const { kind } = JSON.parse(readFileSync(taken, 'utf8')) as { kind: ProviderErrorKind };
      unlinkSync(taken);
      throw providerErrorOfKind(kind, `injected fault on ${operation}`);
    }
  }

  #path(id: string): string {
    return join(this.stateDir, 'servers', `${id}.json`);
  }

  /** The record of server `id` as it is now (finished steps applied), or undefined when it does not exist. */
  #current(id: string): FakeServerRecord | undefined {
    const record = this.#read(this.#path(id));
    if (!record) return undefined;
    if (!(record.phase in OUTCOME) || record.phaseMs === null || Date.now() < record.phaseSince + record.phaseMs) return record;
    const outcome = OUTCOME[record.phase as keyof typeof OUTCOME];
    if (outcome === 'gone') {
      try {
        renameSync(this.#path(id), join(this.stateDir, 'gone', `${id}.json`));
      } catch {
        // already moved by another reader
      }
      return undefined;
    }
    return { ...record, phase: outcome, phaseSince: record.phaseSince + record.phaseMs, phaseMs: 0 };
  }

  #require(id: string): FakeServerRecord {
    if (typeof id !== 'string' || !ID.test(id)) throw new InvalidRequestError(`'${String(id)}' is not a fake cloud server id`);
    const record = this.#current(id);
    if (!record) throw new ServerNotFoundError(`fake server ${id} not found`);
    return record;
  }

  #enter(record: FakeServerRecord, phase: 'starting' | 'rebooting' | 'stopping' | 'deleting', endless: EndlessVariant | undefined): void {
    const behaviour = this.behaviour();
    const never = endless !== undefined && behaviour.endless.includes(endless);
    const step: FakeStep = { phase, at: Date.now(), ms: never ? null : behaviour.delays[phase] };
    writeAtomically(this.#path(record.id), { ...record, phase, phaseSince: step.at, phaseMs: step.ms, history: [...record.history, step] } satisfies FakeServerRecord);
  }

  #observed(record: FakeServerRecord): ObservedServer {
    return {
      providerId: record.id,
      name: record.name,
      status: record.phase satisfies ObservedStatus,
      cloudStatus: record.phase,
      labels: record.labels,
      createdAt: new Date(record.createdAt).toISOString(),
    };
  }

  // -- the provider's operations -----------------------------------------------------------------------------

  /**
   * Creates a server (it starts `starting`), or adopts the one not being deleted that carries the same identity
   * labels (managed-by, installation, `server-id`). InvalidRequestError without a `server-id` label.
   */
  async create(spec: FakeServerSpec): Promise<ObservedServer> {
    this.#strike('create');
    const identity = identityLabels(spec.labels);
    if (!identity) throw new InvalidRequestError(`server '${spec.name}' has no '${LABEL.serverId}' label`);
    const existing = this.servers().find((server) => server.phase !== 'deleting' && Object.entries(identity).every(([key, value]) => server.labels[key] === value));
    if (existing) return this.#observed(existing);
    const now = Date.now();
    const record: FakeServerRecord = { id: randomUUID(), name: spec.name, labels: { ...spec.labels }, template: spec.template, createdAt: now, phase: 'starting', phaseSince: now, phaseMs: 0, history: [] };
    this.#enter(record, 'starting', 'never-starts');
    return this.#observed(this.#current(record.id) ?? record);
  }

  /**
   * Server `providerId`, taken by a resource instead of creating one (ServerDeclaration.adopt): InvalidRequestError
   * unless it carries every label of `labels` and is not being deleted; ServerNotFoundError when it is gone.
   */
  async adopt(providerId: string, labels: Labels): Promise<ObservedServer> {
    this.#strike('create');
    const record = this.#require(providerId);
    const wrong = Object.entries(labels).filter(([key, value]) => record.labels[key] !== value);
    if (wrong.length > 0 || record.phase === 'deleting') throw new InvalidRequestError(`fake server ${providerId} cannot be adopted`);
    return this.#observed(record);
  }

  /** Starts deleting server `providerId`; a server already gone counts as deleted. */
  async delete(providerId: string): Promise<void> {
    this.#strike('delete');
    try {
      const record = this.#require(providerId);
      if (record.phase !== 'deleting') this.#enter(record, 'deleting', 'never-deleted');
    } catch (error) {
      if (!(error instanceof ServerNotFoundError)) throw error;
    }
  }

  /** {@inheritDoc ServerApi.observe} */
  async observe(providerId: string): Promise<ObservedServer> {
    this.#strike('observe');
    return this.#observed(this.#require(providerId));
  }

  /** {@inheritDoc ServerApi.list} */
  async list(labels: Labels): Promise<ObservedServer[]> {
    this.#strike('list');
    return this.servers()
      .filter((server) => Object.entries(labels).every(([key, value]) => server.labels[key] === value))
      .map((server) => this.#observed(server));
  }

  /** {@inheritDoc ServerApi.stop} A server already stopping or stopped is left as it is. */
  async stop(providerId: string): Promise<void> {
    this.#strike('stop');
    const record = this.#require(providerId);
    if (record.phase === 'stopping' || record.phase === 'stopped') return;
    if (record.phase === 'deleting') throw new InvalidRequestError(`fake server ${providerId} is being deleted`);
    this.#enter(record, 'stopping', 'never-stops');
  }

  /** {@inheritDoc ServerApi.reboot} Only a running server reboots; otherwise InvalidRequestError. */
  async reboot(providerId: string): Promise<void> {
    this.#strike('reboot');
    const record = this.#require(providerId);
    if (record.phase !== 'running') throw new InvalidRequestError(`fake server ${providerId} is ${record.phase}, not running`);
    this.#enter(record, 'rebooting', undefined);
  }
}

export { markProviderError } from '../contract.ts';
