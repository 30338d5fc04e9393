// The routes of the Hetzner API test server: servers (list, create, get, delete), their power actions and
// actions, actions by id, and images. Handlers return the body and status, or throw ApiError.
import type { CloudState, ServerCommand, ServerRecord } from './cloud-state.ts';
import { ApiError } from './errors.ts';
import { parseLabelSelector } from './label-selector.ts';
import { paginate } from './pagination.ts';
import { renderAction, renderImage, renderServer } from './render.ts';

/** One answer of a route. */
export interface RouteAnswer {
  status: number;
  body: unknown;
}

/** A request as the routes see it. */
export interface RouteRequest {
  method: string;
  /** Path below `/v1`, e.g. `/servers/12`. */
  path: string;
  query: URLSearchParams;
  body: unknown;
}

const POWER_ACTIONS: Record<string, ServerCommand> = {
  poweron: 'start_server',
  poweroff: 'stop_server',
  shutdown: 'shutdown_server',
  reboot: 'reboot_server',
  reset: 'reset_server',
};

const HOSTNAME = /^(?=.{1,63}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const LABEL_VALUE = /^(?:[a-zA-Z0-9](?:[-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)?$/;

function invalid(field: string, message: string): ApiError {
  return new ApiError('invalid_input', `invalid input in field '${field}'`, { fields: [{ name: field, messages: [message] }] });
}

function idOf(raw: string, what: string): number {
  if (!/^[1-9]\d*$/.test(raw)) throw new ApiError('invalid_input', `invalid ${what} ID '${raw}'`);
  return Number(raw);
}

function sortBy<T extends { id: number; created?: number }>(items: T[], sort: string | null): T[] {
  const [field = 'id', direction = 'asc'] = (sort ?? 'id:asc').split(':');
  if (!['id', 'created', 'name'].includes(field) || !['asc', 'desc'].includes(direction)) throw invalid('sort', `unsupported sort '${sort}'`);
  const key = (item: T) => (field === 'created' ? (item.created ?? 0) : field === 'name' ? String((item as unknown as { name: string }).name) : item.id);
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id - b.id));
  return direction === 'desc' ? sorted.reverse() : sorted;
}

function listServers(state: CloudState, query: URLSearchParams): RouteAnswer {
  state.settle();
  const selector = parseLabelSelector(query.get('label_selector') ?? '');
  const name = query.get('name');
  const statuses = query.getAll('status');
  const matching = [...state.servers.values()].filter((server) => selector(server.labels) && (name === null || server.name === name) && (statuses.length === 0 || statuses.includes(server.status)));
  const { items, pagination } = paginate(sortBy(matching, query.get('sort')), query);
  return { status: 200, body: { servers: items.map(renderServer), meta: { pagination } } };
}

function createServer(state: CloudState, body: unknown): RouteAnswer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError('json_error', 'request body must be a JSON object');
  const input = body as Record<string, unknown>;
  if (typeof input.name !== 'string' || !HOSTNAME.test(input.name)) throw invalid('name', 'must be a valid hostname');
  if (typeof input.server_type !== 'string' || !state.serverTypes.has(input.server_type)) throw invalid('server_type', 'server type not found');
  const imageRef = input.image;
  const image = [...state.images.values()].find((candidate) => String(candidate.id) === String(imageRef) || (candidate.name !== null && candidate.name === imageRef));
  if (!image || image.status !== 'available') throw invalid('image', 'image not found');
  const location = input.location ?? [...state.locations][0];
  if (typeof location !== 'string' || !state.locations.has(location)) throw invalid('location', 'location not found');
  const labels = input.labels ?? {};
  if (typeof labels !== 'object' || labels === null || Object.values(labels).some((value) => typeof value !== 'string' || !LABEL_VALUE.test(value))) throw invalid('labels', 'invalid label value');
  const publicNet = (input.public_net ?? {}) as { enable_ipv4?: boolean; enable_ipv6?: boolean };
  const list = (value: unknown, field: string): unknown[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw invalid(field, 'must be a list');
    return value;
  };
  const fields: Omit<ServerRecord, 'id' | 'status' | 'created' | 'ipv4' | 'ipv6'> = {
    name: input.name,
    labels: { ...(labels as Record<string, string>) },
    serverType: input.server_type,
    location,
    image,
    userData: typeof input.user_data === 'string' ? input.user_data : null,
    sshKeys: list(input.ssh_keys, 'ssh_keys').map(String),
    firewallIds: list(input.firewalls, 'firewalls').map((entry) => Number((entry as { firewall: unknown }).firewall)),
    networkIds: list(input.networks, 'networks').map(Number),
    placementGroupId: typeof input.placement_group === 'number' ? input.placement_group : null,
  };
  const { server, action } = state.createServer(fields, publicNet.enable_ipv4 ?? true, publicNet.enable_ipv6 ?? true);
  return { status: 201, body: { server: renderServer(server), action: renderAction(action), next_actions: [], root_password: null } };
}

function serverActions(state: CloudState, serverId: number, query: URLSearchParams): RouteAnswer {
  state.server(serverId);
  const statuses = query.getAll('status');
  const matching = [...state.actions.values()].filter((action) => action.serverId === serverId && (statuses.length === 0 || statuses.includes(action.status)));
  const { items, pagination } = paginate(sortBy(matching, query.get('sort')), query);
  return { status: 200, body: { actions: items.map(renderAction), meta: { pagination } } };
}

function listImages(state: CloudState, query: URLSearchParams): RouteAnswer {
  const selector = parseLabelSelector(query.get('label_selector') ?? '');
  const types = query.getAll('type');
  const statuses = query.getAll('status');
  const matching = [...state.images.values()].filter((image) => selector(image.labels) && (types.length === 0 || types.includes(image.type)) && (statuses.length === 0 || statuses.includes(image.status)));
  const { items, pagination } = paginate(sortBy(matching, query.get('sort')), query);
  return { status: 200, body: { images: items.map(renderImage), meta: { pagination } } };
}

/** Answers `request` from `state`; throws ApiError (not_found for an unknown route). */
export function route(state: CloudState, request: RouteRequest): RouteAnswer {
  const { method, path, query, body } = request;
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'servers') {
    if (parts.length === 1 && method === 'GET') return listServers(state, query);
    if (parts.length === 1 && method === 'POST') return createServer(state, body);
    const serverId = parts[1] === undefined ? 0 : idOf(parts[1], 'server');
    if (parts.length === 2 && method === 'GET') return { status: 200, body: { server: renderServer(state.server(serverId)) } };
    if (parts.length === 2 && method === 'DELETE') return { status: 200, body: { action: renderAction(state.startAction(state.server(serverId), 'delete_server')) } };
    if (parts.length === 3 && parts[2] === 'actions' && method === 'GET') return serverActions(state, serverId, query);
    const command = parts.length === 4 && parts[2] === 'actions' && method === 'POST' ? POWER_ACTIONS[parts[3]!] : undefined;
    if (command) {
      const server = state.server(serverId);
      if (server.status === 'deleting') throw new ApiError('conflict', `server ${serverId} is being deleted`);
      return { status: 201, body: { action: renderAction(state.startAction(server, command)) } };
    }
  }
  if (parts[0] === 'actions' && parts.length === 2 && method === 'GET') return { status: 200, body: { action: renderAction(state.action(idOf(parts[1]!, 'action'))) } };
  if (parts[0] === 'images' && parts.length === 1 && method === 'GET') return listImages(state, query);
  throw new ApiError('not_found', `${method} /v1${path} is not a route of this API`);
}
