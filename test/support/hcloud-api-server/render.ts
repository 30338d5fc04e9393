// The JSON shapes of servers, actions and images as the Hetzner Cloud API documents them (the fields a client
// reads, and enough of the rest to look like the real answers).
import type { ActionRecord, ImageRecord, ServerRecord } from './cloud-state.ts';

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

/** An action object. */
export function renderAction(action: ActionRecord): Record<string, unknown> {
  return {
    id: action.id,
    command: action.command,
    status: action.status,
    progress: action.status === 'running' ? 0 : 100,
    started: iso(action.started),
    finished: action.finished === null ? null : iso(action.finished),
    resources: [{ id: action.serverId, type: 'server' }],
    error: action.error,
  };
}

/** An image object. */
export function renderImage(image: ImageRecord): Record<string, unknown> {
  return {
    id: image.id,
    type: image.type,
    status: image.status,
    name: image.name,
    description: image.description,
    created: iso(image.created),
    labels: image.labels,
    architecture: 'x86',
    os_flavor: 'ubuntu',
    os_version: image.type === 'system' ? '24.04' : null,
    rapid_deploy: false,
    protection: { delete: false },
    deprecated: null,
    deleted: null,
    created_from: null,
    bound_to: null,
    image_size: null,
    disk_size: 40,
  };
}

/** A server object. */
export function renderServer(server: ServerRecord): Record<string, unknown> {
  return {
    id: server.id,
    name: server.name,
    status: server.status,
    created: iso(server.created),
    labels: server.labels,
    public_net: {
      ipv4: server.ipv4 === null ? null : { id: server.id, ip: server.ipv4, blocked: false, dns_ptr: `static.${server.ipv4}.clients.your-server.de` },
      ipv6: server.ipv6 === null ? null : { id: server.id, ip: server.ipv6, blocked: false, dns_ptr: [] },
      floating_ips: [],
      firewalls: server.firewallIds.map((id) => ({ id, status: 'applied' })),
    },
    private_net: server.networkIds.map((network, index) => ({ network, ip: `10.0.0.${index + 2}`, alias_ips: [], mac_address: '86:00:00:00:00:01' })),
    server_type: { id: 1, name: server.serverType, cores: 2, memory: 4, disk: 40, architecture: 'x86', cpu_type: 'shared' },
    datacenter: { id: 1, name: `${server.location}-dc1`, location: { id: 1, name: server.location } },
    image: renderImage(server.image),
    iso: null,
    rescue_enabled: false,
    locked: false,
    backup_window: null,
    outgoing_traffic: 0,
    ingoing_traffic: 0,
    included_traffic: 21990232555520,
    protection: { delete: false, rebuild: false },
    volumes: [],
    load_balancers: [],
    primary_disk_size: 40,
    placement_group: server.placementGroupId === null ? null : { id: server.placementGroupId, name: `group-${server.placementGroupId}`, type: 'spread', servers: [server.id], labels: {}, created: iso(server.created) },
  };
}
