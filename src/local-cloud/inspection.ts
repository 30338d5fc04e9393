// What tests and the demo can see of the local cloud without going through its API: every server with its true
// status (hung or not) and the actions it took, counters of what the API answered; and the counts a test asserts on.
import type { StoredServer } from './cloud-store.ts';
import { isStep, type CloudStatus, type Command } from './state-machine.ts';

/** One server as an inspection shows it. */
export interface InspectedServer {
  id: number;
  name: string;
  status: CloudStatus;
  labels: Readonly<Record<string, string>>;
  /** True when the server is in a step that will never end (an injected hang). */
  hung: boolean;
  createdAt: string;
  /**
   * How many actions of each command the cloud took on this server (e.g. `{ create_server: 1, reboot_server: 1 }`):
   * commands it accepted, finished no-op ones included; requests it refused (locked, conflict, injected errors)
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

/** The local cloud's state at one moment. */
export interface CloudInspection {
  servers: InspectedServer[];
  stats: RequestStats;
}

/** `server` as an inspection shows it. */
export function inspectServer(server: StoredServer): InspectedServer {
  return {
    id: server.id,
    name: server.name,
    status: server.lifecycle.status,
    labels: { ...server.labels },
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
