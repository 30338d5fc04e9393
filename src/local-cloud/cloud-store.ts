// The local cloud's servers, images and actions, in memory. Every read first lets finished steps end (see
// state-machine.ts), so what callers see is always the state at the clock's current time.
import { CloudApiError, invalidInput, notFound } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import { validateLabels } from './label-selector.ts';
import type { CloudSettings } from './options.ts';
import { enterStep, settle, transition, type Command, type Lifecycle } from './state-machine.ts';

/** A snapshot servers can be created from. */
export interface Image {
  id: number;
  description: string;
}

/** One server as the cloud keeps it. */
export interface StoredServer {
  id: number;
  name: string;
  labels: Record<string, string>;
  serverType: string;
  image: Image;
  location: string;
  createdAt: number;
  ipv4: string;
  lifecycle: Lifecycle;
  /** The action of the step the server is in, if any. */
  actionId: number | null;
  /** How many actions of each command the cloud took on this server (finished no-op ones included). */
  actionCounts: Partial<Record<Command, number>>;
}

/** One action (a command and how it went), like the Hetzner Cloud API's. */
export interface StoredAction {
  id: number;
  command: Command;
  status: 'running' | 'success';
  startedAt: number;
  finishedAt: number | null;
  serverId: number;
}

/** A validated create request. */
export interface CreateServerInput {
  name: string;
  serverType: string;
  /** The snapshot's id, or its description. */
  image: string | number;
  location?: string;
  labels: Record<string, string>;
}

/** What the store needs from the cloud around it. */
export interface CloudStoreContext {
  settings: () => CloudSettings;
  faults: FaultInjector;
  now: () => number;
  snapshots: string[];
  serverTypes: string[];
  locations: string[];
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The local cloud's state and the operations of its API. */
export class CloudStore {
  readonly #context: CloudStoreContext;
  readonly #servers = new Map<number, StoredServer>();
  readonly #actions = new Map<number, StoredAction>();
  readonly images: Image[];
  #nextServerId = 1;
  #nextActionId = 1;

  constructor(context: CloudStoreContext) {
    this.#context = context;
    this.images = context.snapshots.map((description, index) => ({ id: 1001 + index, description }));
  }

  /** Ends every step whose time is up: actions succeed, deleted servers disappear. */
  #advance(): void {
    const now = this.#context.now();
    for (const server of this.#servers.values()) {
      const settled = settle(server.lifecycle, now);
      if (settled.endedAt === undefined) continue;
      const action = server.actionId === null ? undefined : this.#actions.get(server.actionId);
      if (action) Object.assign(action, { status: 'success', finishedAt: settled.endedAt });
      server.actionId = null;
      if (settled.status === 'gone') this.#servers.delete(server.id);
      else server.lifecycle = { status: settled.status, stepEndsAt: null };
    }
  }

  /** Every server that exists now (servers being deleted included), by ascending id. */
  servers(): StoredServer[] {
    this.#advance();
    return [...this.#servers.values()].sort((a, b) => a.id - b.id);
  }

  /** The server with `id`; a 404 `not_found` CloudApiError when there is none. */
  server(id: number): StoredServer {
    this.#advance();
    const server = this.#servers.get(id);
    if (!server) throw notFound(`server with ID '${id}'`);
    return server;
  }

  /** The action with `id`; a 404 `not_found` CloudApiError when there is none. */
  action(id: number): StoredAction {
    this.#advance();
    const action = this.#actions.get(id);
    if (!action) throw notFound(`action with ID '${id}'`);
    return action;
  }

  #startAction(command: Command, server: StoredServer, finished: boolean): StoredAction {
    const now = this.#context.now();
    const action: StoredAction = {
      id: this.#nextActionId++,
      command,
      status: finished ? 'success' : 'running',
      startedAt: now,
      finishedAt: finished ? now : null,
      serverId: server.id,
    };
    this.#actions.set(action.id, action);
    server.actionCounts[command] = (server.actionCounts[command] ?? 0) + 1;
    return action;
  }

  #findImage(reference: string | number): Image {
    const image = this.images.find((candidate) => candidate.id === Number(reference) || candidate.description === reference);
    if (!image) throw invalidInput(`image '${reference}' not found`, [{ name: 'image', messages: ['no such snapshot'] }]);
    return image;
  }

  /**
   * Creates a server (it starts `initializing`). Checks, in order: the input (400 `invalid_input`), the name
   * (409 `uniqueness_error` while another server not being deleted has it), the quota (403
   * `resource_limit_exceeded`) and the capacity (503 `resource_unavailable`).
   */
  create(input: CreateServerInput): { server: StoredServer; action: StoredAction } {
    if (!HOST_NAME.test(input.name)) throw invalidInput(`name '${input.name}' is not a valid host name`, [{ name: 'name', messages: ['invalid host name'] }]);
    if (!this.#context.serverTypes.includes(input.serverType)) {
      throw invalidInput(`server type '${input.serverType}' not found`, [{ name: 'server_type', messages: [`one of ${this.#context.serverTypes.join(', ')}`] }]);
    }
    const location = input.location ?? this.#context.locations[0]!;
    if (!this.#context.locations.includes(location)) {
      throw invalidInput(`location '${location}' not found`, [{ name: 'location', messages: [`one of ${this.#context.locations.join(', ')}`] }]);
    }
    const image = this.#findImage(input.image);
    validateLabels(input.labels);
    const existing = this.servers();
    if (existing.some((server) => server.name === input.name && server.lifecycle.status !== 'deleting')) {
      throw new CloudApiError(409, 'uniqueness_error', `server name '${input.name}' is already used`, { fields: [{ name: 'name', messages: ['is already used'] }] });
    }
    const { quota, capacity, delays } = this.#context.settings();
    if (quota !== undefined && existing.length >= quota) {
      throw new CloudApiError(403, 'resource_limit_exceeded', `server limit of ${quota} exceeded for this project`, { limits: [{ name: 'server_limit' }] });
    }
    if (existing.length >= capacity) {
      throw new CloudApiError(503, 'resource_unavailable', `no capacity left for server type '${input.serverType}' in ${location}`);
    }
    const id = this.#nextServerId++;
    const server: StoredServer = {
      id,
      name: input.name,
      labels: { ...input.labels },
      serverType: input.serverType,
      image,
      location,
      createdAt: this.#context.now(),
      ipv4: `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`,
      lifecycle: enterStep('initializing', this.#context.now(), delays, this.#context.faults.hangs('initializing', image.description)),
      actionId: null,
      actionCounts: {},
    };
    this.#servers.set(id, server);
    const action = this.#startAction('create_server', server, false);
    server.actionId = action.id;
    return { server, action };
  }

  /** Removes server `id` at once, as a deletion in the console that is already done; 404 `not_found` when there is none. */
  remove(id: number): void {
    this.server(id);
    this.#servers.delete(id);
  }

  /**
   * Runs `command` on server `id` and returns its action: a finished one when the server already is where the
   * command leads (or, for a repeated delete, the running delete action). Throws the state machine's 423/409.
   */
  command(id: number, command: Exclude<Command, 'create_server'>): StoredAction {
    const server = this.server(id);
    const outcome = transition(server.lifecycle.status, command);
    if ('noop' in outcome) {
      const running = server.actionId === null ? undefined : this.#actions.get(server.actionId);
      return command === 'delete_server' && running ? running : this.#startAction(command, server, true);
    }
    const now = this.#context.now();
    server.lifecycle = enterStep(outcome.step, now, this.#context.settings().delays, this.#context.faults.hangs(outcome.step));
    const action = this.#startAction(command, server, false);
    server.actionId = action.id;
    return action;
  }
}
