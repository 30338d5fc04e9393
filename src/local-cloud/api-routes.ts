// The local cloud's `/v1` API, shaped like the Hetzner Cloud API: servers, server actions, actions and images.
import { z } from 'zod';
import type { CloudStore, StoredAction, StoredServer } from './cloud-store.ts';
import { CloudApiError, invalidInput } from './errors.ts';
import { matchesSelector, parseLabelSelector } from './label-selector.ts';
import { isStep, type Command } from './state-machine.ts';

/** A request to the API, its path taken after `/v1`. */
export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

/** A successful answer: HTTP status and JSON body. */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The route of a request for the statistics: its method and path with ids replaced, e.g. `GET /servers/{id}`. */
export function routeKey(method: string, path: string): string {
  return `${method} ${path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A server as the API shows it (a subset of Hetzner's server object with the same field names). */
export function serverView(server: StoredServer): Record<string, unknown> {
  return {
    id: server.id,
    name: server.name,
    status: server.lifecycle.status,
    created: iso(server.createdAt),
    public_net: { ipv4: { ip: server.ipv4, blocked: false, dns_ptr: `static.${server.ipv4}.local` }, ipv6: null, floating_ips: [], firewalls: [] },
    private_net: [],
    server_type: { name: server.serverType },
    datacenter: { name: `${server.location}-dc1`, location: { name: server.location } },
    image: { id: server.image.id, type: 'snapshot', status: 'available', name: null, description: server.image.description },
    labels: server.labels,
    locked: isStep(server.lifecycle.status),
    protection: { delete: false, rebuild: false },
  };
}

/** An action as the API shows it. */
export function actionView(action: StoredAction): Record<string, unknown> {
  return {
    id: action.id,
    command: action.command,
    status: action.status,
    progress: action.status === 'success' ? 100 : 0,
    started: iso(action.startedAt),
    finished: iso(action.finishedAt),
    resources: [{ id: action.serverId, type: 'server' }],
    error: null,
  };
}

const createServerBody = z.looseObject({
  name: z.string(),
  server_type: z.union([z.string(), z.number()]).transform(String),
  image: z.union([z.string(), z.number()]),
  location: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

const SERVER_ACTIONS: Record<string, Exclude<Command, 'create_server' | 'delete_server'>> = {
  shutdown: 'shutdown_server',
  poweroff: 'poweroff_server',
  poweron: 'start_server',
  reboot: 'reboot_server',
};

function positiveInteger(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) throw invalidInput(`${name} must be an integer from 1 to ${max}`);
  return value;
}

function idFrom(segment: string, what: string): number {
  const id = Number(segment);
  if (!Number.isSafeInteger(id) || id < 1) throw invalidInput(`invalid ${what} ID '${segment}'`);
  return id;
}

function listServers(store: CloudStore, query: URLSearchParams): ApiResponse {
  const selector = parseLabelSelector(query.get('label_selector') ?? '');
  const name = query.get('name');
  const statuses = query.getAll('status');
  const matching = store
    .servers()
    .filter((server) => matchesSelector(server.labels, selector))
    .filter((server) => name === null || server.name === name)
    .filter((server) => statuses.length === 0 || statuses.includes(server.lifecycle.status));
  const perPage = positiveInteger(query, 'per_page', 25, 50);
  const page = positiveInteger(query, 'page', 1, Number.MAX_SAFE_INTEGER);
  const lastPage = Math.max(1, Math.ceil(matching.length / perPage));
  return {
    status: 200,
    body: {
      servers: matching.slice((page - 1) * perPage, page * perPage).map(serverView),
      meta: {
        pagination: {
          page,
          per_page: perPage,
          previous_page: page > 1 ? page - 1 : null,
          next_page: page < lastPage ? page + 1 : null,
          last_page: lastPage,
          total_entries: matching.length,
        },
      },
    },
  };
}

function createServer(store: CloudStore, body: unknown): ApiResponse {
  const parsed = createServerBody.safeParse(body);
  if (!parsed.success) {
    throw invalidInput(
      'invalid input in fields ' + [...new Set(parsed.error.issues.map((issue) => String(issue.path[0] ?? 'body')))].join(', '),
      parsed.error.issues.map((issue) => ({ name: String(issue.path[0] ?? 'body'), messages: [issue.message] })),
    );
  }
  const { server, action } = store.create({
    name: parsed.data.name,
    serverType: parsed.data.server_type,
    image: parsed.data.image,
    location: parsed.data.location,
    labels: parsed.data.labels ?? {},
  });
  return { status: 201, body: { server: serverView(server), action: actionView(action), next_actions: [], root_password: null } };
}

/**
 * Answers one API request, or throws the CloudApiError the API answers with (404 `not_found` for missing
 * entities, 404 `route_not_found` for unknown routes, 400 `invalid_input` for bad input, ...).
 */
export function handleApiRequest(store: CloudStore, request: ApiRequest): ApiResponse {
  const segments = request.path.split('/').filter(Boolean);
  const [collection, id, sub, actionName] = segments;
  const method = request.method;
  if (collection === 'servers' && segments.length === 1) {
    if (method === 'GET') return listServers(store, request.query);
    if (method === 'POST') return createServer(store, request.body);
  }
  if (collection === 'servers' && id !== undefined && segments.length === 2) {
    const serverId = idFrom(id, 'server');
    if (method === 'GET') return { status: 200, body: { server: serverView(store.server(serverId)) } };
    if (method === 'DELETE') return { status: 200, body: { action: actionView(store.command(serverId, 'delete_server')) } };
  }
  if (collection === 'servers' && id !== undefined && sub === 'actions' && actionName !== undefined && segments.length === 4 && method === 'POST') {
    const command = Object.hasOwn(SERVER_ACTIONS, actionName) ? SERVER_ACTIONS[actionName] : undefined;
    if (command) {
      const action = store.command(idFrom(id, 'server'), command);
      return { status: 201, body: { action: actionView(action) } };
    }
  }
  if (collection === 'actions' && id !== undefined && segments.length === 2 && method === 'GET') {
    return { status: 200, body: { action: actionView(store.action(idFrom(id, 'action'))) } };
  }
  if (collection === 'images' && segments.length === 1 && method === 'GET') {
    const images = store.images.map((image) => ({ id: image.id, type: 'snapshot', status: 'available', name: null, description: image.description }));
    return { status: 200, body: { images, meta: { pagination: { page: 1, per_page: images.length, previous_page: null, next_page: null, last_page: 1, total_entries: images.length } } } };
  }
  // Not `not_found`: that code says an entity does not exist, which clients may read as proof of deletion.
  throw new CloudApiError(404, 'route_not_found', `no route for ${method} /v1${request.path}`);
}
