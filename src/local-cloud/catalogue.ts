// What the local cloud offers: its server types and locations, with the fields and prices the Hetzner Cloud API
// shows for them (`GET /server_types`, `GET /locations`, `GET /pricing`). Names Hetzner uses (cx22, fsn1, ...) get
// Hetzner's figures; other names (the local profile's small, medium, large and local-1) get plausible ones.

/** One server type the cloud offers. */
export interface ServerTypeEntry {
  id: number;
  name: string;
  description: string;
  category: string;
  cores: number;
  /** Gigabytes. */
  memory: number;
  /** Gigabytes. */
  disk: number;
  cpuType: 'shared' | 'dedicated';
  architecture: 'x86' | 'arm';
  /** Net price in EUR. */
  hourly: number;
  monthly: number;
}

/** One location the cloud offers. */
export interface LocationEntry {
  id: number;
  name: string;
  description: string;
  country: string;
  city: string;
  latitude: number;
  longitude: number;
  networkZone: string;
}

/** The server types and locations of one cloud. */
export interface Catalogue {
  serverTypes: ServerTypeEntry[];
  locations: LocationEntry[];
}

type TypeFigures = Omit<ServerTypeEntry, 'id' | 'name'>;

const KNOWN_TYPES: Readonly<Record<string, TypeFigures>> = {
  cx22: { description: 'CX22', category: 'cost_optimized', cores: 2, memory: 4, disk: 40, cpuType: 'shared', architecture: 'x86', hourly: 0.0074, monthly: 4.59 },
  cx32: { description: 'CX32', category: 'cost_optimized', cores: 4, memory: 8, disk: 80, cpuType: 'shared', architecture: 'x86', hourly: 0.0119, monthly: 7.4 },
  cpx11: { description: 'CPX11', category: 'regular_purpose', cores: 2, memory: 2, disk: 40, cpuType: 'shared', architecture: 'x86', hourly: 0.0071, monthly: 4.35 },
  cax11: { description: 'CAX11', category: 'cost_optimized', cores: 2, memory: 4, disk: 40, cpuType: 'shared', architecture: 'arm', hourly: 0.0062, monthly: 3.79 },
  ccx13: { description: 'CCX13', category: 'general_purpose', cores: 2, memory: 8, disk: 80, cpuType: 'dedicated', architecture: 'x86', hourly: 0.0224, monthly: 13.99 },
  small: { description: 'Local small', category: 'local', cores: 1, memory: 2, disk: 20, cpuType: 'shared', architecture: 'x86', hourly: 0.005, monthly: 3 },
  medium: { description: 'Local medium', category: 'local', cores: 2, memory: 4, disk: 40, cpuType: 'shared', architecture: 'x86', hourly: 0.01, monthly: 6 },
  large: { description: 'Local large', category: 'local', cores: 4, memory: 8, disk: 80, cpuType: 'shared', architecture: 'x86', hourly: 0.02, monthly: 12 },
};

const KNOWN_LOCATIONS: Readonly<Record<string, Omit<LocationEntry, 'id' | 'name'>>> = {
  fsn1: { description: 'Falkenstein DC Park 1', country: 'DE', city: 'Falkenstein', latitude: 50.47612, longitude: 12.370071, networkZone: 'eu-central' },
  nbg1: { description: 'Nuremberg DC Park 1', country: 'DE', city: 'Nuremberg', latitude: 49.452102, longitude: 11.076665, networkZone: 'eu-central' },
  hel1: { description: 'Helsinki DC Park 1', country: 'FI', city: 'Helsinki', latitude: 60.169855, longitude: 24.938379, networkZone: 'eu-central' },
  ash: { description: 'Ashburn, VA', country: 'US', city: 'Ashburn, VA', latitude: 39.045821, longitude: -77.487073, networkZone: 'us-east' },
  hil: { description: 'Hillsboro, OR', country: 'US', city: 'Hillsboro, OR', latitude: 45.54222, longitude: -122.951924, networkZone: 'us-west' },
  sin: { description: 'Singapore', country: 'SG', city: 'Singapore', latitude: 1.283333, longitude: 103.833333, networkZone: 'ap-southeast' },
};

/** The catalogue with `serverTypes` and `locations` by name, numbered from 1 in the order given. */
export function buildCatalogue(serverTypes: readonly string[], locations: readonly string[]): Catalogue {
  return {
    serverTypes: serverTypes.map((name, index) => ({
      id: index + 1,
      name,
      ...(KNOWN_TYPES[name] ?? { ...KNOWN_TYPES.medium!, description: name }),
    })),
    locations: locations.map((name, index) => ({
      id: index + 1,
      name,
      ...(KNOWN_LOCATIONS[name] ?? { description: `Local cloud location ${name}`, country: 'DE', city: 'Localhost', latitude: 0, longitude: 0, networkZone: 'eu-central' }),
    })),
  };
}

/** A reference by id or by name, as the API takes `server_type`, `image` and `location`. */
export type IdOrName = string | number;

/** The entry `reference` names (its id as a number or a numeric string, or its name), or undefined. */
export function findByIdOrName<T extends { id: number; name: string | null }>(entries: readonly T[], reference: IdOrName): T | undefined {
  const asId = typeof reference === 'number' ? reference : /^\d+$/.test(reference) ? Number(reference) : undefined;
  return entries.find((entry) => (asId !== undefined ? entry.id === asId : entry.name === reference));
}

const VAT = 1.19;
const money = (net: number) => ({ net: net.toFixed(10), gross: (net * VAT).toFixed(16) });

/** A location as the API shows it. */
export function locationView(location: LocationEntry): Record<string, unknown> {
  return {
    id: location.id,
    name: location.name,
    description: location.description,
    country: location.country,
    city: location.city,
    latitude: location.latitude,
    longitude: location.longitude,
    network_zone: location.networkZone,
  };
}

/** 20 TB of included traffic, in bytes (Hetzner's figure for the EU locations). */
const INCLUDED_TRAFFIC = 21_990_232_555_520;

function typePrices(type: ServerTypeEntry, locations: readonly LocationEntry[]): Record<string, unknown>[] {
  return locations.map((location) => ({
    location: location.name,
    price_hourly: money(type.hourly),
    price_monthly: money(type.monthly),
    included_traffic: INCLUDED_TRAFFIC,
    price_per_tb_traffic: money(1),
  }));
}

/**
 * A server type as the API shows it, offered in every location of `locations`: `available` (and recommended) where
 * `available(location)` says so (default: everywhere).
 */
export function serverTypeView(type: ServerTypeEntry, locations: readonly LocationEntry[], available: (location: string) => boolean = () => true): Record<string, unknown> {
  return {
    id: type.id,
    name: type.name,
    description: type.description,
    category: type.category,
    cores: type.cores,
    memory: type.memory,
    disk: type.disk,
    deprecated: false,
    deprecation: null,
    storage_type: 'local',
    cpu_type: type.cpuType,
    architecture: type.architecture,
    prices: typePrices(type, locations),
    locations: locations.map((location) => ({ id: location.id, name: location.name, deprecation: null, available: available(location.name), recommended: available(location.name) })),
  };
}

/** The answer of `GET /pricing` for `catalogue`. */
export function pricingView(catalogue: Catalogue): Record<string, unknown> {
  const perLocation = (monthly: number) => catalogue.locations.map((location) => ({ location: location.name, price_hourly: money(monthly / 730), price_monthly: money(monthly) }));
  return {
    currency: 'EUR',
    vat_rate: '19.00',
    image: { price_per_gb_month: money(0.011) },
    floating_ip: { price_monthly: money(3) },
    floating_ips: [
      { type: 'ipv4', prices: catalogue.locations.map((location) => ({ location: location.name, price_monthly: money(3) })) },
      { type: 'ipv6', prices: catalogue.locations.map((location) => ({ location: location.name, price_monthly: money(3) })) },
    ],
    primary_ips: [
      { type: 'ipv4', prices: perLocation(0.5) },
      { type: 'ipv6', prices: perLocation(0) },
    ],
    server_backup: { percentage: '20.00' },
    server_types: catalogue.serverTypes.map((type) => ({ id: type.id, name: type.name, prices: typePrices(type, catalogue.locations) })),
    load_balancer_types: [],
    volume: { price_per_gb_month: money(0.044) },
  };
}
