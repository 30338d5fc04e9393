// The servers, actions and images of the Hetzner API test server, and how servers move between the documented
// statuses. Every change runs as an action (`create_server`, `shutdown_server`, `reboot_server`, ...) that lasts
// a configurable time; a server with a running action is locked against other actions (423 `locked`). Actions end
// lazily when the clock passes their end, so the state needs no timers.
import { ApiError } from './errors.ts';

/** Every server status the Hetzner Cloud API documents. */
export const HCLOUD_SERVER_STATUSES = ['initializing', 'starting', 'running', 'stopping', 'off', 'deleting', 'migrating', 'rebuilding', 'unknown'] as const;

/** A documented server status. */
export type HcloudServerStatus = (typeof HCLOUD_SERVER_STATUSES)[number];

/** The server actions the test server runs, by the command name the API reports. */
export type ServerCommand = 'create_server' | 'start_server' | 'stop_server' | 'shutdown_server' | 'reboot_server' | 'reset_server' | 'delete_server';

/** How long each command runs, in milliseconds (a missing command runs 0 ms). */
export type CommandDurations = Partial<Record<ServerCommand, number>>;

/** One action, as stored. */
export interface ActionRecord {
  id: number;
  command: ServerCommand;
  status: 'running' | 'success' | 'error';
  started: number;
  endsAt: number;
  finished: number | null;
  serverId: number;
  error: { code: string; message: string } | null;
}

/** One image (system image or snapshot), as stored. */
export interface ImageRecord {
  id: number;
  type: 'system' | 'snapshot' | 'backup' | 'app';
  status: 'available' | 'creating' | 'unavailable';
  name: string | null;
  description: string;
  created: number;
  labels: Record<string, string>;
}

/** One server, as stored. */
export interface ServerRecord {
  id: number;
  name: string;
  status: HcloudServerStatus;
  created: number;
  labels: Record<string, string>;
  serverType: string;
  location: string;
  image: ImageRecord;
  userData: string | null;
  sshKeys: string[];
  firewallIds: number[];
  networkIds: number[];
  placementGroupId: number | null;
  ipv4: string | null;
  ipv6: string | null;
}

/** What a command does to the server's status: the status while it runs, and after (`gone`: the server is removed). */
const TRANSITIONS: Record<ServerCommand, { during?: HcloudServerStatus; after: HcloudServerStatus | 'gone' }> = {
  create_server: { during: 'initializing', after: 'running' },
  start_server: { during: 'starting', after: 'running' },
  stop_server: { during: 'stopping', after: 'off' },
  shutdown_server: { during: 'stopping', after: 'off' },
  // Hetzner has no rebooting status: a rebooting server stays `running`, only its action shows the reboot.
  reboot_server: { after: 'running' },
  reset_server: { after: 'running' },
  delete_server: { during: 'deleting', after: 'gone' },
};

/** What the state starts with and how it behaves. */
export interface CloudStateOptions {
  durations?: CommandDurations;
  /** Images that exist from the start (ids are assigned). */
  images?: readonly Omit<ImageRecord, 'id'>[];
  serverTypes?: readonly string[];
  locations?: readonly string[];
  /** How many servers the locations can hold together; beyond it a create gets 503 `resource_unavailable`. */
  capacity?: number;
  /** The project's server limit; beyond it a create gets 403 `resource_limit_exceeded`. */
  serverLimit?: number;
  now?: () => number;
}

/** The test server's cloud. */
export class CloudState {
  readonly servers = new Map<number, ServerRecord>();
  readonly actions = new Map<number, ActionRecord>();
  readonly images = new Map<number, ImageRecord>();
  durations: CommandDurations;
  capacity: number;
  serverLimit: number;
  readonly serverTypes: ReadonlySet<string>;
  readonly locations: ReadonlySet<string>;
  readonly now: () => number;
  #nextId = 1000;

  constructor(options: CloudStateOptions = {}) {
    this.durations = { ...options.durations };
    this.capacity = options.capacity ?? Number.POSITIVE_INFINITY;
    this.serverLimit = options.serverLimit ?? Number.POSITIVE_INFINITY;
    this.serverTypes = new Set(options.serverTypes ?? ['cx22', 'cx32', 'cpx11', 'cax11']);
    this.locations = new Set(options.locations ?? ['fsn1', 'nbg1', 'hel1', 'ash', 'hil', 'sin']);
    this.now = options.now ?? Date.now;
    for (const image of options.images ?? [{ type: 'system', status: 'available', name: 'ubuntu-24.04', description: 'Ubuntu 24.04', created: this.now(), labels: {} }]) {
      this.addImage(image);
    }
  }

  #id(): number {
    this.#nextId += 1;
    return this.#nextId;
  }

  /** Adds an image and returns it with its id. */
  addImage(image: Omit<ImageRecord, 'id'>): ImageRecord {
    const record = { ...image, labels: { ...image.labels }, id: this.#id() };
    this.images.set(record.id, record);
    return record;
  }

  /** Ends every action whose time is up, applying its transition. */
  settle(): void {
    const now = this.now();
    for (const action of [...this.actions.values()].sort((a, b) => a.endsAt - b.endsAt)) {
      if (action.status !== 'running' || action.endsAt > now) continue;
      action.status = 'success';
      action.finished = action.endsAt;
      const server = this.servers.get(action.serverId);
      if (!server) continue;
      const { after } = TRANSITIONS[action.command];
      if (after === 'gone') this.servers.delete(server.id);
      else server.status = after;
    }
  }

  /** The server `id`; throws ApiError not_found. */
  server(id: number): ServerRecord {
    this.settle();
    const server = this.servers.get(id);
    if (!server) throw new ApiError('not_found', `server with ID '${id}' not found`);
    return server;
  }

  /** The action `id`; throws ApiError not_found. */
  action(id: number): ActionRecord {
    this.settle();
    const action = this.actions.get(id);
    if (!action) throw new ApiError('not_found', `action with ID '${id}' not found`);
    return action;
  }

  /** Starts `command` on `server`; throws ApiError locked while another action of the server runs. */
  startAction(server: ServerRecord, command: ServerCommand): ActionRecord {
    this.settle();
    if (command !== 'delete_server' && [...this.actions.values()].some((action) => action.serverId === server.id && action.status === 'running')) {
      throw new ApiError('locked', `server ${server.id} is locked: another action is running`);
    }
    if (command === 'delete_server') {
      for (const action of this.actions.values()) {
        if (action.serverId !== server.id || action.status !== 'running') continue;
        action.status = 'error';
        action.finished = this.now();
        action.error = { code: 'action_failed', message: 'the server was deleted' };
      }
    }
    const now = this.now();
    const action: ActionRecord = { id: this.#id(), command, status: 'running', started: now, endsAt: now + (this.durations[command] ?? 0), finished: null, serverId: server.id, error: null };
    this.actions.set(action.id, action);
    const { during } = TRANSITIONS[command];
    if (during) server.status = during;
    this.settle();
    return action;
  }

  /** Creates a server record and its `create_server` action (the request is validated by the route). */
  createServer(fields: Omit<ServerRecord, 'id' | 'status' | 'created' | 'ipv4' | 'ipv6'>, publicIpv4: boolean, publicIpv6: boolean): { server: ServerRecord; action: ActionRecord } {
    this.settle();
    if ([...this.servers.values()].some((server) => server.name === fields.name)) {
      throw new ApiError('uniqueness_error', 'server name is already used', { fields: [{ name: 'name', messages: ['is already used'] }] });
    }
    if (this.servers.size >= this.serverLimit) throw new ApiError('resource_limit_exceeded', 'server limit exceeded', { limits: [{ name: 'server_limit' }] });
    if (this.servers.size >= this.capacity) throw new ApiError('resource_unavailable', `server type ${fields.serverType} is unavailable in location ${fields.location}`);
    const id = this.#id();
    const server: ServerRecord = {
      ...fields,
      id,
      status: 'initializing',
      created: this.now(),
      ipv4: publicIpv4 ? `203.0.113.${id % 250}` : null,
      ipv6: publicIpv6 ? `2001:db8:${id.toString(16)}::/64` : null,
    };
    this.servers.set(id, server);
    return { server, action: this.startAction(server, 'create_server') };
  }
}
