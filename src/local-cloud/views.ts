// The JSON objects of the local cloud's API, with the fields, names and types the Hetzner Cloud API sends for a
// server, an action and an image (checked by decoding them with Hetzner's own Go client, hcloud-go).
import { locationView, serverTypeView } from './catalogue.ts';
import type { Image, StoredAction, StoredServer } from './cloud-store.ts';
import { apiStatus } from './state-machine.ts';

/** A time as Hetzner writes it: `2016-01-30T23:55:01+00:00`. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** An image as the API shows it. */
export function imageView(image: Image): Record<string, unknown> {
  return {
    id: image.id,
    type: image.type,
    status: image.status,
    name: image.name,
    description: image.description,
    image_size: image.type === 'snapshot' ? 1.2 : null,
    disk_size: 20,
    created: timestamp(image.createdAt),
    created_from: null,
    bound_to: null,
    os_flavor: 'ubuntu',
    os_version: image.type === 'system' ? '24.04' : null,
    architecture: 'x86',
    rapid_deploy: image.type === 'system',
    protection: { delete: false },
    deprecated: null,
    deprecation: null,
    deleted: null,
    labels: { ...image.labels },
  };
}

/** An action as the API shows it. */
export function actionView(action: StoredAction): Record<string, unknown> {
  return {
    id: action.id,
    command: action.command,
    status: action.status,
    progress: action.status === 'running' ? 0 : 100,
    started: timestamp(action.startedAt),
    finished: action.finishedAt === null ? null : timestamp(action.finishedAt),
    resources: [{ id: action.serverId, type: 'server' }],
    error: action.error,
  };
}

/** A stable MAC address for network interface `index` of server `id`. */
function macAddress(id: number, index: number): string {
  return [0x86, 0, index, (id >> 16) & 255, (id >> 8) & 255, id & 255].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

/**
 * A server as the API shows it: every field Hetzner sends, the status as Hetzner reports it (a rebooting server is
 * `running`), its server type and location in full, and `location` in place of the `datacenter` Hetzner removed.
 */
export function serverView(server: StoredServer, locations: Parameters<typeof serverTypeView>[1]): Record<string, unknown> {
  return {
    id: server.id,
    name: server.name,
    status: apiStatus(server.lifecycle.status),
    created: timestamp(server.createdAt),
    public_net: {
      ipv4: server.ipv4 === null ? null : { id: server.id, ip: server.ipv4, blocked: false, dns_ptr: `static.${server.ipv4}.clients.your-server.de` },
      ipv6: server.ipv6 === null ? null : { id: server.id, ip: server.ipv6, blocked: false, dns_ptr: [] },
      floating_ips: [],
      firewalls: server.firewallIds.map((id) => ({ id, status: 'applied' })),
    },
    private_net: server.networkIds.map((network, index) => ({ network, ip: `10.0.${index}.${(server.id % 250) + 2}`, alias_ips: [], mac_address: macAddress(server.id, index) })),
    server_type: serverTypeView(server.serverType, locations),
    location: locationView(server.location),
    image: imageView(server.image),
    iso: null,
    rescue_enabled: false,
    locked: false,
    backup_window: null,
    outgoing_traffic: 0,
    ingoing_traffic: 0,
    included_traffic: 21_990_232_555_520,
    protection: { delete: false, rebuild: false },
    labels: { ...server.labels },
    volumes: [],
    load_balancers: [],
    primary_disk_size: server.serverType.disk,
    placement_group:
      server.placementGroupId === null
        ? null
        : { id: server.placementGroupId, name: `placement-group-${server.placementGroupId}`, type: 'spread', servers: [server.id], labels: {}, created: timestamp(server.createdAt) },
  };
}
