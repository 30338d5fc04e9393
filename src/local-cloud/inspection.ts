// What tests and the demo can see of the local cloud without going through its API: every server with its true
// status (hung or not) and the actions it took, counters of what the API answered, the images; and the counts a
// test asserts on.
import type { Image, StoredServer } from './cloud-store.ts';
import { isStep, type CloudStatus, type Command } from './state-machine.ts';

/** One server as an inspection shows it. */
export interface InspectedServer {
  id: number;
  name: string;
  /** Its true status: `rebooting` during a reboot (which the API shows as `running` with a running action). */
  status: CloudStatus;
  labels: Readonly<Record<string, string>>;
  serverType: string;
  location: string;
  imageId: number;
  userData: string | null;
  /** True when the server is in a step that will never end (an injected hang). */
  hung: boolean;
  createdAt: string;
  /**
   * How many actions of each command the cloud took on this server (e.g. `{ create_server: 1, reboot_server: 1 }`):
   * commands it accepted, finished no-op ones included; requests it refused (locked, unsupported, injected errors)
   * are not counted.
   */
  actions: Partial<Record<Command, number>>;
}

/** Counters of the API's answers since the cloud started. */
export interface RequestStats {
  /** Requests to `/v1`, answered or not. */
  total: number;
  /** Requests that reached the routes, by route (e.g. `POST /servers`); rate-limited, unauthorized and injected-error ones are not counted here. */
  byRoute: Record<string, number>;
  rateLimited: number;
  unauthorized: number;
  injectedErrors: number;
  /** Responses dropped after the action was taken. */
  lostResponses: number;
}

/** One API request the cloud answered (or dropped the answer of). */
export interface RecordedRequest {
  /** When the cloud answered it (or dropped its answer), in milliseconds since the epoch, by the machine's clock. */
  at: number;
  method: string;
  /** The path below the host, query included (e.g. `/v1/servers?label_selector=a%3Db`). */
  path: string;
  /** The HTTP status answered (for a dropped answer: the status it would have had). */
  status: number;
  /** The error code of an error answer. */
  code?: string;
  /** True when the answer was dropped after the action was taken (a lost response). */
  lost?: true;
  /** The JSON body of a POST, PUT, PATCH or DELETE that had one (e.g. a create's `server_type` and `location`). */
  body?: unknown;
  /** The name of the API token the request carried (see LocalCloudOptions.tokens); absent when the cloud needs none. */
  token?: string;
  /**
   * The servers the request named or that its answer showed (the path's server, a created server, a list's
   * servers, an action's server), with their labels when the request was answered (null once a server is gone):
   * which installation's servers a request touched.
   */
  servers: { id: number; labels: Record<string, string> | null }[];
}

/**
 * The ids of the servers a request on `path` (after `/v1`) named or its answer `body` showed: `/servers/{id}...`,
 * `server`, `servers[]`, and the server resources of `action`, `actions[]` and `next_actions[]`. Sorted, unique.
 */
export function serverIdsOf(path: string, body: unknown): number[] {
  const ids = new Set<number>();
  const inPath = /^\/servers\/(\d+)(?:\/|$)/.exec(path);
  if (inPath) ids.add(Number(inPath[1]));
  const answer = (body ?? {}) as {
    server?: { id?: number };
    servers?: { id?: number }[];
    action?: { resources?: { id: number; type: string }[] };
    actions?: { resources?: { id: number; type: string }[] }[];
    next_actions?: { resources?: { id: number; type: string }[] }[];
  };
  if (typeof answer.server?.id === 'number') ids.add(answer.server.id);
  for (const server of Array.isArray(answer.servers) ? answer.servers : []) if (typeof server.id === 'number') ids.add(server.id);
  const actions = [...(answer.action ? [answer.action] : []), ...(Array.isArray(answer.actions) ? answer.actions : []), ...(Array.isArray(answer.next_actions) ? answer.next_actions : [])];
  for (const action of actions) for (const resource of action.resources ?? []) if (resource.type === 'server') ids.add(resource.id);
  return [...ids].sort((a, b) => a - b);
}

/** The local cloud's state at one moment. */
export interface CloudInspection {
  servers: InspectedServer[];
  images: Image[];
  stats: RequestStats;
}

/** `server` as an inspection shows it. */
export function inspectServer(server: StoredServer): InspectedServer {
  return {
    id: server.id,
    name: server.name,
    status: server.lifecycle.status,
    labels: { ...server.labels },
    serverType: server.serverType.name,
    location: server.location.name,
    imageId: server.image.id,
    userData: server.userData,
    hung: isStep(server.lifecycle.status) && server.lifecycle.stepEndsAt === null,
    createdAt: new Date(server.createdAt).toISOString(),
    actions: { ...server.actionCounts },
  };
}

/**
 * Servers that are not being deleted and share a value of label `labelKey` with another such server, grouped by
 * that value (`server-id` by default: two live servers for one stable id are a double creation).
 */
export function duplicateServers(servers: readonly InspectedServer[], labelKey = 'server-id'): Map<string, InspectedServer[]> {
  const byValue = new Map<string, InspectedServer[]>();
  for (const server of servers) {
    const value = server.labels[labelKey];
    if (value === undefined || server.status === 'deleting') continue;
    byValue.set(value, [...(byValue.get(value) ?? []), server]);
  }
  return new Map([...byValue].filter(([, group]) => group.length > 1));
}

/**
 * Servers labelled `managed-by=<managedBy>` whose `server-id` label is not among `knownServerIds` (or missing):
 * servers nobody keeps a record of.
 */
export function orphanServers(
  servers: readonly InspectedServer[],
  knownServerIds: Iterable<string>,
  managedBy = 'dynamic-servers',
): InspectedServer[] {
  const known = new Set(knownServerIds);
  return servers.filter((server) => {
    if (server.labels['managed-by'] !== managedBy) return false;
    const serverId = server.labels['server-id'];
    return serverId === undefined || !known.has(serverId);
  });
}
