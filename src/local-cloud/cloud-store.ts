// The local cloud's servers, images and actions, in memory. Every read first lets finished steps end (see
// state-machine.ts), so what callers see is always the state at the clock's current time. Each server's status
// history is kept, also after the server is gone, so tests can read what a server went through without having to
// catch a short step by polling.
import { findByIdOrName, type Catalogue, type IdOrName, type LocationEntry, type ServerTypeEntry } from './catalogue.ts';
import { CloudApiError, invalidField, notFound } from './errors.ts';
import type { FaultInjector } from './faults.ts';
import { validateLabels } from './label-selector.ts';
import { isSoldOut, type CloudSettings } from './options.ts';
import { enterStep, settle, transition, type CloudStatus, type Command, type Lifecycle, type StepOutcome } from './state-machine.ts';

/** An image servers can be created from: a snapshot (no name, found by id or labels) or a system image. */
export interface Image {
  id: number;
  type: 'snapshot' | 'system';
  status: 'available' | 'creating' | 'unavailable';
  /** System images have a name (`ubuntu-24.04`); snapshots have none. */
  name: string | null;
  description: string;
  labels: Record<string, string>;
  createdAt: number;
}

/** One server as the cloud keeps it. */
export interface StoredServer {
  id: number;
  name: string;
  labels: Record<string, string>;
  serverType: ServerTypeEntry;
  location: LocationEntry;
  image: Image;
  createdAt: number;
  ipv4: string | null;
  ipv6: string | null;
  userData: string | null;
  sshKeys: string[];
  firewallIds: number[];
  networkIds: number[];
  placementGroupId: number | null;
  lifecycle: Lifecycle;
  /** The running actions of the step the server is in. */
  actionIds: number[];
  /** How many actions of each command the cloud took on this server (finished no-op ones included). */
  actionCounts: Partial<Record<Command, number>>;
}

/** One action (a command and how it went), like the Hetzner Cloud API's. */
export interface StoredAction {
  id: number;
  command: Command;
  status: 'running' | 'success' | 'error';
  startedAt: number;
  finishedAt: number | null;
  serverId: number;
  error: { code: string; message: string } | null;
}

/** One entry of a server's status history: a status it entered (`gone`: it ceased to exist) and when. */
export interface StatusEntry {
  status: StepOutcome;
  at: number;
}

/** A validated create request. */
export interface CreateServerInput {
  name: string;
  serverType: IdOrName;
  image: IdOrName;
  location?: IdOrName;
  labels: Record<string, string>;
  startAfterCreate: boolean;
  userData: string | null;
  sshKeys: string[];
  firewallIds: number[];
  networkIds: number[];
  placementGroupId: number | null;
  publicIpv4: boolean;
  publicIpv6: boolean;
}

/** What the store needs from the cloud around it. */
export interface CloudStoreContext {
  settings: () => CloudSettings;
  faults: FaultInjector;
  now: () => number;
  catalogue: Catalogue;
  images: Image[];
  /** Whether server names are unique among servers not being deleted (Hetzner: yes). */
  uniqueNames: boolean;
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The local cloud's state and the operations of its API. */
export class CloudStore {
  readonly #context: CloudStoreContext;
  readonly #servers = new Map<number, StoredServer>();
  readonly #actions = new Map<number, StoredAction>();
  readonly #history = new Map<number, StatusEntry[]>();
  readonly images: readonly Image[];
  readonly catalogue: Catalogue;
  #nextServerId = 1;
  #nextActionId = 1;

  constructor(context: CloudStoreContext) {
    this.#context = context;
    this.images = context.images;
    this.catalogue = context.catalogue;
  }

  #record(server: StoredServer, status: StepOutcome, at: number): void {
    const history = this.#history.get(server.id) ?? [];
    if (history.at(-1)?.status !== status) history.push({ status, at });
    this.#history.set(server.id, history);
  }

  /** Ends every step whose time is up: its actions succeed, deleted servers disappear. */
  #advance(): void {
    const now = this.#context.now();
    for (const server of this.#servers.values()) {
      const settled = settle(server.lifecycle, now);
      if (settled.endedAt === undefined) continue;
      for (const id of server.actionIds) Object.assign(this.#actions.get(id)!, { status: 'success', finishedAt: settled.endedAt });
      server.actionIds = [];
      this.#record(server, settled.status, settled.endedAt);
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

  /** Every action taken so far, by ascending id. */
  actions(): StoredAction[] {
    this.#advance();
    return [...this.#actions.values()];
  }

  /** The action with `id`; a 404 `not_found` CloudApiError when there is none. */
  action(id: number): StoredAction {
    this.#advance();
    const action = this.#actions.get(id);
    if (!action) throw notFound(`action with ID '${id}'`);
    return action;
  }

  /** Every status server `id` entered, oldest first, also after it is gone (empty for an id the cloud never had). */
  statusHistory(id: number): StatusEntry[] {
    this.#advance();
    return [...(this.#history.get(id) ?? [])];
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
      error: null,
    };
    this.#actions.set(action.id, action);
    server.actionCounts[command] = (server.actionCounts[command] ?? 0) + 1;
    if (!finished) server.actionIds.push(action.id);
    return action;
  }

  /** Ends the server's running actions in error (a step cut short by deletion or by a forced status). */
  #failRunning(server: StoredServer, message: string): void {
    for (const id of server.actionIds) {
      Object.assign(this.#actions.get(id)!, { status: 'error', finishedAt: this.#context.now(), error: { code: 'action_failed', message } });
    }
    server.actionIds = [];
  }

  #nameTaken(name: string, except?: number): boolean {
    if (!this.#context.uniqueNames) return false;
    return this.servers().some((server) => server.name === name && server.id !== except && server.lifecycle.status !== 'deleting');
  }

  /**
   * Creates a server (it starts `initializing`, then runs, or ends `off` without `startAfterCreate`) and returns it
   * with its `create_server` action and, when it starts, the `start_server` action that follows. Checks, in
   * order: the name, server type, location, image and labels (422 `invalid_input`), the name's uniqueness among
   * servers not being deleted (409 `uniqueness_error`; unless names may repeat), the quota (403
   * `resource_limit_exceeded`), the capacity and the size's availability in the location (412 `resource_unavailable`);
   * servers being deleted count against quota and capacity.
   */
  create(input: CreateServerInput): { server: StoredServer; action: StoredAction; nextActions: StoredAction[] } {
    if (!HOST_NAME.test(input.name)) throw invalidField('name', 'must be a valid hostname');
    const serverType = findByIdOrName(this.catalogue.serverTypes, input.serverType);
    if (!serverType) throw invalidField('server_type', `server type '${input.serverType}' not found`);
    const location = input.location === undefined ? this.catalogue.locations[0] : findByIdOrName(this.catalogue.locations, input.location);
    if (!location) throw invalidField('location', `location '${input.location}' not found`);
    const image = findByIdOrName(this.images, input.image);
    if (!image || image.status !== 'available') throw invalidField('image', `image '${input.image}' not found`);
    validateLabels(input.labels);
    if (this.#nameTaken(input.name)) throw new CloudApiError('uniqueness_error', 'server name is already used', { fields: [{ name: 'name', messages: ['is already used'] }] });
    const existing = this.servers();
    const settings = this.#context.settings();
    const { quota, capacity, delays } = settings;
    if (quota !== undefined && existing.length >= quota) {
      throw new CloudApiError('resource_limit_exceeded', `server limit of ${quota} exceeded for this project`, { limits: [{ name: 'server_limit' }] });
    }
    if (existing.length >= capacity || isSoldOut(settings, serverType.name, location.name)) {
      throw new CloudApiError('resource_unavailable', `server type ${serverType.name} is unavailable in location ${location.name}`);
    }
    const id = this.#nextServerId++;
    const now = this.#context.now();
    const server: StoredServer = {
      id,
      name: input.name,
      labels: { ...input.labels },
      serverType,
      location,
      image,
      createdAt: now,
      ipv4: input.publicIpv4 ? `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}` : null,
      ipv6: input.publicIpv6 ? `2001:db8:${id.toString(16)}::/64` : null,
      userData: input.userData,
      sshKeys: [...input.sshKeys],
      firewallIds: [...input.firewallIds],
      networkIds: [...input.networkIds],
      placementGroupId: input.placementGroupId,
      lifecycle: enterStep('initializing', now, delays, this.#context.faults.hangs('initializing', image.description), input.startAfterCreate ? undefined : 'off'),
      actionIds: [],
      actionCounts: {},
    };
    this.#servers.set(id, server);
    this.#record(server, 'initializing', now);
    const action = this.#startAction('create_server', server, false);
    const nextActions = input.startAfterCreate ? [this.#startAction('start_server', server, false)] : [];
    return { server, action, nextActions };
  }

  /** True when the cloud sells `serverType` in `location` now (see CloudSettings.soldOut); capacity aside. */
  sells(serverType: string, location: string): boolean {
    return !isSoldOut(this.#context.settings(), serverType, location);
  }

  /** Removes server `id` at once, as a deletion in the console that is already done; 404 `not_found` when there is none. */
  remove(id: number): void {
    const server = this.server(id);
    this.#record(server, 'gone', this.#context.now());
    this.#servers.delete(id);
  }

  /**
   * Runs `command` on server `id` and returns its action: a finished one when the server already is where the
   * command leads (or, for a repeated delete, the running delete action). Throws the state machine's 423/422.
   */
  command(id: number, command: Exclude<Command, 'create_server'>): StoredAction {
    const server = this.server(id);
    const outcome = transition(server.lifecycle.status, command);
    if ('noop' in outcome) {
      const deleting = server.actionIds.map((actionId) => this.#actions.get(actionId)!).find((action) => action.command === 'delete_server');
      return command === 'delete_server' && deleting ? deleting : this.#startAction(command, server, true);
    }
    if (command === 'delete_server') this.#failRunning(server, 'the server was deleted');
    const now = this.#context.now();
    server.lifecycle = enterStep(outcome.step, now, this.#context.settings().delays, this.#context.faults.hangs(outcome.step));
    this.#record(server, outcome.step, now);
    return this.#startAction(command, server, false);
  }

  /**
   * Changes the name and/or replaces the labels of server `id` (`PUT /servers/{id}`). Throws 422 `invalid_input`
   * for a bad name or label and 409 `uniqueness_error` for a name another server has.
   */
  update(id: number, change: { name?: string; labels?: Record<string, string> }): StoredServer {
    const server = this.server(id);
    if (change.name !== undefined) {
      if (!HOST_NAME.test(change.name)) throw invalidField('name', 'must be a valid hostname');
      if (this.#nameTaken(change.name, id)) throw new CloudApiError('uniqueness_error', 'server name is already used', { fields: [{ name: 'name', messages: ['is already used'] }] });
    }
    if (change.labels !== undefined) validateLabels(change.labels);
    if (change.name !== undefined) server.name = change.name;
    if (change.labels !== undefined) server.labels = { ...change.labels };
    return server;
  }

  /**
   * Puts server `id` into `status` for good, as the cloud itself may (`migrating`, `unknown`, ...): any running
   * action fails. A status Hetzner does not document is accepted too, to see how a client copes with one.
   */
  forceStatus(id: number, status: string): StoredServer {
    const server = this.server(id);
    this.#failRunning(server, `the server became ${status}`);
    server.lifecycle = { status: status as CloudStatus, stepEndsAt: null };
    this.#record(server, status as CloudStatus, this.#context.now());
    return server;
  }
}
