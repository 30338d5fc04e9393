// The local cloud's `/v1` API, following the Hetzner Cloud API reference for the endpoints the product and common
// clients use: servers (list, create, get, update, delete), server actions (poweron, poweroff, shutdown, reboot,
// reset; list and get), actions, images, server types, locations and pricing.
import { z } from 'zod';
import { findByIdOrName, locationView, pricingView, serverTypeView } from './catalogue.ts';
import type { CloudStore, StoredAction, StoredServer } from './cloud-store.ts';
import { CloudApiError, invalidField, invalidInput, notFound } from './errors.ts';
import { matchesSelector, parseLabelSelector } from './label-selector.ts';
import { idFrom, paginate, sortItems, type SortKeys } from './listing.ts';
import { apiStatus, HETZNER_SERVER_STATUSES, type Command } from './state-machine.ts';
import { actionView, imageView, serverView } from './views.ts';

/** A request to the API, its path taken after `/v1`. */
export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  /** `http://host:port` as the client addressed the cloud, for links in the answer. */
  origin: string;
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

const idOrName = z.union([z.string().min(1), z.number().int().positive()]);
const labels = z.record(z.string(), z.string());

const createServerBody = z.looseObject({
  name: z.string(),
  server_type: idOrName,
  image: idOrName,
  location: idOrName.optional(),
  labels: labels.optional(),
  start_after_create: z.boolean().optional(),
  user_data: z.string().optional(),
  ssh_keys: z.array(idOrName).optional(),
  firewalls: z.array(z.looseObject({ firewall: z.number().int().positive() })).optional(),
  networks: z.array(z.number().int().positive()).optional(),
  placement_group: z.number().int().positive().optional(),
  public_net: z.looseObject({ enable_ipv4: z.boolean().optional(), enable_ipv6: z.boolean().optional() }).optional(),
});

const updateServerBody = z.strictObject({ name: z.string().optional(), labels: labels.optional() });

const SERVER_ACTIONS: Readonly<Record<string, Exclude<Command, 'create_server' | 'delete_server'>>> = {
  poweron: 'start_server',
  poweroff: 'stop_server',
  shutdown: 'shutdown_server',
  reboot: 'reboot_server',
  reset: 'reset_server',
};

const SERVER_SORT: SortKeys<StoredServer> = { id: (server) => server.id, name: (server) => server.name, created: (server) => server.createdAt };
const ACTION_SORT: SortKeys<StoredAction> = {
  id: (action) => action.id,
  command: (action) => action.command,
  status: (action) => action.status,
  started: (action) => action.startedAt,
  finished: (action) => action.finishedAt,
};

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const fields = new Map<string, string[]>();
  for (const issue of parsed.error.issues) {
    const name = String(issue.path[0] ?? 'body');
    fields.set(name, [...(fields.get(name) ?? []), issue.message]);
  }
  throw invalidInput(`invalid input in fields '${[...fields.keys()].join("', '")}'`, [...fields].map(([name, messages]) => ({ name, messages })));
}

/** The values of the multi-valued filter `name`, each checked against `allowed`. */
function filterValues(query: URLSearchParams, name: string, allowed: readonly string[]): string[] {
  const values = query.getAll(name);
  for (const value of values) if (!allowed.includes(value)) throw invalidField(name, `'${value}' is not one of ${allowed.join(', ')}`);
  return values;
}

/** A paginated list answer: `{ [key]: items, meta }`. */
function listAnswer<T>(key: string, items: readonly T[], query: URLSearchParams, view: (item: T) => unknown): ApiResponse {
  const page = paginate(items, query);
  return { status: 200, body: { [key]: page.items.map(view), meta: page.meta } };
}

function listServers(store: CloudStore, query: URLSearchParams): ApiResponse {
  const selector = parseLabelSelector(query.get('label_selector') ?? '');
  const name = query.get('name');
  const statuses = filterValues(query, 'status', HETZNER_SERVER_STATUSES);
  const matching = store
    .servers()
    .filter((server) => matchesSelector(server.labels, selector))
    .filter((server) => name === null || server.name === name)
    .filter((server) => statuses.length === 0 || statuses.includes(apiStatus(server.lifecycle.status)));
  return listAnswer('servers', sortItems(matching, query, SERVER_SORT), query, (server) => serverView(server, store.catalogue.locations));
}

function createServer(store: CloudStore, body: unknown): ApiResponse {
  const input = parseBody(createServerBody, body);
  const { server, action, nextActions } = store.create({
    name: input.name,
    serverType: input.server_type,
    image: input.image,
    ...(input.location === undefined ? {} : { location: input.location }),
    labels: input.labels ?? {},
    startAfterCreate: input.start_after_create ?? true,
    userData: input.user_data ?? null,
    sshKeys: (input.ssh_keys ?? []).map(String),
    firewallIds: (input.firewalls ?? []).map((entry) => entry.firewall),
    networkIds: input.networks ?? [],
    placementGroupId: input.placement_group ?? null,
    publicIpv4: input.public_net?.enable_ipv4 ?? true,
    publicIpv6: input.public_net?.enable_ipv6 ?? true,
  });
  return {
    status: 201,
    body: { server: serverView(server, store.catalogue.locations), action: actionView(action), next_actions: nextActions.map(actionView), root_password: null },
  };
}

function listActions(actions: readonly StoredAction[], query: URLSearchParams): ApiResponse {
  const statuses = filterValues(query, 'status', ['running', 'success', 'error']);
  const matching = actions.filter((action) => statuses.length === 0 || statuses.includes(action.status));
  return listAnswer('actions', sortItems(matching, query, ACTION_SORT), query, actionView);
}

function serverRoutes(store: CloudStore, request: ApiRequest, segments: string[]): ApiResponse | undefined {
  const { method, query, body } = request;
  if (segments.length === 1) {
    if (method === 'GET') return listServers(store, query);
    if (method === 'POST') return createServer(store, body);
    return undefined;
  }
  const serverId = idFrom(segments[1]!, 'server');
  const view = (server: StoredServer) => serverView(server, store.catalogue.locations);
  if (segments.length === 2) {
    if (method === 'GET') return { status: 200, body: { server: view(store.server(serverId)) } };
    if (method === 'PUT') return { status: 200, body: { server: view(store.update(serverId, parseBody(updateServerBody, body ?? {}))) } };
    if (method === 'DELETE') return { status: 200, body: { action: actionView(store.command(serverId, 'delete_server')) } };
    return undefined;
  }
  if (segments[2] !== 'actions') return undefined;
  if (segments.length === 3 && method === 'GET') {
    store.server(serverId);
    return listActions(store.actions().filter((action) => action.serverId === serverId), query);
  }
  if (segments.length === 4 && method === 'GET' && /^\d+$/.test(segments[3]!)) {
    const action = store.action(idFrom(segments[3]!, 'action'));
    if (action.serverId !== serverId) throw notFound(`action with ID '${action.id}'`);
    return { status: 200, body: { action: actionView(action) } };
  }
  const command = segments.length === 4 && method === 'POST' && Object.hasOwn(SERVER_ACTIONS, segments[3]!) ? SERVER_ACTIONS[segments[3]!] : undefined;
  if (command) return { status: 201, body: { action: actionView(store.command(serverId, command)) } };
  return undefined;
}

function actionRoutes(store: CloudStore, request: ApiRequest, segments: string[]): ApiResponse | undefined {
  if (request.method !== 'GET') return undefined;
  if (segments.length === 2) return { status: 200, body: { action: actionView(store.action(idFrom(segments[1]!, 'action'))) } };
  const ids = request.query.getAll('id');
  if (ids.length === 0) throw invalidField('id', 'at least one action id is required');
  const wanted = new Set(ids.map((id) => idFrom(id, 'action')));
  return listActions(store.actions().filter((action) => wanted.has(action.id)), request.query);
}

function imageRoutes(store: CloudStore, request: ApiRequest, segments: string[]): ApiResponse | undefined {
  if (request.method !== 'GET') return undefined;
  if (segments.length === 2) {
    const image = store.images.find((candidate) => candidate.id === idFrom(segments[1]!, 'image'));
    if (!image) throw notFound(`image with ID '${segments[1]}'`);
    return { status: 200, body: { image: imageView(image) } };
  }
  const { query } = request;
  const selector = parseLabelSelector(query.get('label_selector') ?? '');
  const types = filterValues(query, 'type', ['system', 'snapshot', 'backup', 'app']);
  const statuses = filterValues(query, 'status', ['available', 'creating', 'unavailable']);
  const name = query.get('name');
  const architectures = filterValues(query, 'architecture', ['x86', 'arm']);
  const matching = store.images.filter(
    (image) =>
      matchesSelector(image.labels, selector) &&
      (types.length === 0 || types.includes(image.type)) &&
      (statuses.length === 0 || statuses.includes(image.status)) &&
      (name === null || image.name === name) &&
      (architectures.length === 0 || architectures.includes('x86')),
  );
  const sorted = sortItems(matching, query, { id: (image) => image.id, name: (image) => image.name, description: (image) => image.description, created: (image) => image.createdAt });
  return listAnswer('images', sorted, query, imageView);
}

/** `GET /{collection}` and `GET /{collection}/{id}` of a catalogue collection (server types, locations). */
function catalogueRoutes<T extends { id: number; name: string }>(
  request: ApiRequest,
  segments: string[],
  entries: readonly T[],
  keys: { one: string; many: string; what: string },
  view: (entry: T) => unknown,
): ApiResponse | undefined {
  if (request.method !== 'GET') return undefined;
  if (segments.length === 2) {
    const entry = findByIdOrName(entries, idFrom(segments[1]!, keys.what));
    if (!entry) throw notFound(`${keys.what} with ID '${segments[1]}'`);
    return { status: 200, body: { [keys.one]: view(entry) } };
  }
  const name = request.query.get('name');
  const matching = entries.filter((entry) => name === null || entry.name === name);
  return listAnswer(keys.many, sortItems(matching, request.query, { id: (entry) => entry.id, name: (entry) => entry.name }), request.query, view);
}

/**
 * Answers one API request, or throws the CloudApiError the API answers with (404 `not_found` for missing
 * entities, 404 `route_not_found` for unknown routes, 422 `invalid_input` for bad input, ...).
 */
export function handleApiRequest(store: CloudStore, request: ApiRequest): ApiResponse {
  const segments = request.path.split('/').filter(Boolean);
  const { serverTypes, locations } = store.catalogue;
  let answer: ApiResponse | undefined;
  switch (segments.length <= 4 ? segments[0] : undefined) {
    case 'servers':
      answer = serverRoutes(store, request, segments);
      break;
    case 'actions':
      answer = segments.length <= 2 ? actionRoutes(store, request, segments) : undefined;
      break;
    case 'images':
      answer = segments.length <= 2 ? imageRoutes(store, request, segments) : undefined;
      break;
    case 'server_types':
      answer = segments.length <= 2 ? catalogueRoutes(request, segments, serverTypes, { one: 'server_type', many: 'server_types', what: 'server type' }, (type) => serverTypeView(type, locations, (location) => store.sells(type.name, location))) : undefined;
      break;
    case 'locations':
      answer = segments.length <= 2 ? catalogueRoutes(request, segments, locations, { one: 'location', many: 'locations', what: 'location' }, locationView) : undefined;
      break;
    case 'pricing':
      answer = segments.length === 1 && request.method === 'GET' ? { status: 200, body: { pricing: pricingView(store.catalogue) } } : undefined;
      break;
  }
  if (answer) return answer;
  // Not `not_found`: that code says an entity does not exist, which clients may read as proof of deletion.
  throw new CloudApiError('route_not_found', `no route for ${request.method} /v1${request.path}`);
}
