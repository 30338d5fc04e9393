// What the local cloud can be started with, validated: every bad value is a LocalCloudConfigError naming it.
import { z } from 'zod';
import type { Image } from './cloud-store.ts';
import { LocalCloudConfigError } from './errors.ts';
import { NO_FAULTS, type FaultSettings } from './faults.ts';
import type { RateLimit } from './rate-limiter.ts';
import { STEPS, type StepDelays } from './state-machine.ts';

const milliseconds = z.number().int().min(0).max(3_600_000);
const fraction = z.number().min(0).max(1);
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dots, dashes, underscores');
const names = z.array(name).min(1);

const delaysSchema = z.strictObject(Object.fromEntries(STEPS.map((step) => [step, milliseconds.optional()])) as Record<keyof StepDelays, z.ZodOptional<typeof milliseconds>>);

const faultsSchema = z.strictObject({
  errorRate: fraction.optional(),
  lostResponseRate: fraction.optional(),
  hangIn: z.array(z.enum(STEPS)).optional(),
  brokenSnapshots: z.array(z.string()).optional(),
});

/** `size@location` (that size in that location), `size` (that size everywhere) or `@location` (every size there). */
const soldOutEntry = z.string().regex(/^(?:[A-Za-z0-9][A-Za-z0-9._-]*(?:@[A-Za-z0-9][A-Za-z0-9._-]*)?|@[A-Za-z0-9][A-Za-z0-9._-]*)$/, 'size@location, size or @location');

/** The settings that can change while the cloud runs (in process or through `PATCH /admin/settings`). */
const settingsPatchSchema = z.strictObject({
  delays: delaysSchema.optional(),
  capacity: z.number().int().min(0).optional(),
  soldOut: z.array(soldOutEntry).optional(),
  quota: z.number().int().min(0).nullable().optional(),
  faults: faultsSchema.optional(),
});

const labelsSchema = z.record(z.string(), z.string());

/** A snapshot servers can be created from: its description, or the description with labels, status and creation time. */
const snapshotSchema = z.union([
  name,
  z.strictObject({
    description: z.string().min(1),
    labels: labelsSchema.optional(),
    status: z.enum(['available', 'creating', 'unavailable']).optional(),
    /** ISO 8601; default: when the cloud starts. */
    created: z.iso.datetime({ offset: true }).optional(),
  }),
]);

const optionsSchema = settingsPatchSchema.extend({
  /**
   * `local` (default): the token is optional and the catalogue has the local names (server types small, medium and
   * large, locations local-1 and local-2). `strict`: a token is required, and the catalogue has Hetzner's names (cx22, ...,
   * fsn1, ...). Every answer has Hetzner's full bodies and RateLimit headers in both.
   */
  profile: z.enum(['local', 'strict']).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  token: z.string().min(1).optional(),
  /**
   * More API tokens, by a name of the holder (e.g. one per installation sharing the project, as Hetzner lets a
   * project have several tokens). The request log names the token of each request by this name (`token` is
   * `default`). With any token, requests without a known one are refused.
   */
  tokens: z.record(name, z.string().min(1)).optional(),
  /**
   * false: server names need not be unique, as EC2 Name tags need not be (Hetzner's are: the default, true). A
   * testing aid: with the local provider's `adoptOnCreate: false`, a retried create then makes a second server, as
   * the AWS plugin's does.
   */
  uniqueNames: z.boolean().optional(),
  rateLimit: z.strictObject({ limit: z.number().int().min(1), refillPerSecond: z.number().positive() }).optional(),
  snapshots: z.array(snapshotSchema).min(1).optional(),
  serverTypes: names.optional(),
  locations: names.optional(),
  seed: z.number().int().optional(),
});

/** A change to the running cloud's settings; unnamed settings keep their value. `quota: null` removes the quota. */
export type SettingsPatch = z.input<typeof settingsPatchSchema>;

/** Options of startLocalCloud; all optional (see DEFAULT_DELAYS and resolveOptions for the defaults). */
export type LocalCloudOptions = z.input<typeof optionsSchema> & {
  /** The clock of the state machine and the rate limiter, in milliseconds (tests pass a fake one). Default Date.now. */
  now?: () => number;
};

/** The settings the cloud runs with right now. */
export interface CloudSettings {
  delays: StepDelays;
  /** How many servers (not yet gone) the cloud can hold; more is answered 412 `resource_unavailable`. */
  capacity: number;
  /** How many servers the project may have; more is answered 403 `resource_limit_exceeded`. Undefined: no quota. */
  quota: number | undefined;
  /**
   * Sizes sold out where: `small@local-1` (that size in that location), `small` (everywhere), `@local-1` (every size
   * there). A create of one is answered 412 `resource_unavailable`, and the server type shows it `available: false`.
   */
  soldOut: string[];
  faults: FaultSettings;
}

/** True when `settings` sell no `serverType` in `location` (see CloudSettings.soldOut). */
export function isSoldOut(settings: Pick<CloudSettings, 'soldOut'>, serverType: string, location: string): boolean {
  return settings.soldOut.some((entry) => {
    const [size, place] = entry.split('@');
    return (size === '' || size === serverType) && (place === undefined || place === location);
  });
}

/** Everything startLocalCloud needs, defaults filled in. */
export interface ResolvedOptions extends CloudSettings {
  port: number;
  /** The API tokens the cloud accepts, each to the name of its holder (what the request log shows); empty: none needed. */
  tokens: ReadonlyMap<string, string>;
  uniqueNames: boolean;
  rateLimit: RateLimit;
  /** The snapshots (ids from 1001, in the order given) and the system image `ubuntu-24.04` after them. */
  images: Image[];
  serverTypes: string[];
  locations: string[];
  seed: number;
  now: () => number;
}

/** How long each step takes when not configured (milliseconds). */
export const DEFAULT_DELAYS: StepDelays = { initializing: 1000, starting: 500, stopping: 500, rebooting: 500, deleting: 500 };

/** The catalogue names of each profile. */
const PROFILE_CATALOGUE = {
  local: { serverTypes: ['small', 'medium', 'large'], locations: ['local-1', 'local-2'] },
  strict: { serverTypes: ['cx22', 'cx32', 'cpx11', 'cax11', 'ccx13'], locations: ['fsn1', 'nbg1', 'hel1', 'ash', 'hil', 'sin'] },
} as const;

/** The Hetzner Cloud API's default rate limit: 3600 requests, one more each second. */
export const DEFAULT_RATE_LIMIT: RateLimit = { limit: 3600, refillPerSecond: 1 };

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new LocalCloudConfigError(`invalid ${what}: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** Validates `options` and fills in the defaults. Throws LocalCloudConfigError naming each bad option. */
export function resolveOptions(options: LocalCloudOptions = {}): ResolvedOptions {
  const { now, ...rest } = options;
  if (now !== undefined && typeof now !== 'function') throw new LocalCloudConfigError('invalid local cloud options: now must be a function');
  const parsed = parse(optionsSchema, rest, 'local cloud options');
  const profile = parsed.profile ?? 'local';
  const tokens = new Map<string, string>([...(parsed.token === undefined ? [] : [['default', parsed.token] as const]), ...Object.entries(parsed.tokens ?? {})]);
  if (profile === 'strict' && tokens.size === 0) throw new LocalCloudConfigError('invalid local cloud options: the strict profile requires a token');
  if (new Set(tokens.values()).size !== tokens.size) throw new LocalCloudConfigError('invalid local cloud options: two token names have the same token');
  const clock = now ?? Date.now;
  const started = clock();
  const snapshots = (parsed.snapshots ?? ['base-snapshot']).map((entry) => (typeof entry === 'string' ? { description: entry } : entry));
  const images: Image[] = [
    ...snapshots.map((snapshot, index): Image => ({
      id: 1001 + index,
      type: 'snapshot',
      status: snapshot.status ?? 'available',
      name: null,
      description: snapshot.description,
      labels: { ...snapshot.labels },
      createdAt: snapshot.created === undefined ? started : Date.parse(snapshot.created),
    })),
    { id: 1001 + snapshots.length, type: 'system', status: 'available', name: 'ubuntu-24.04', description: 'Ubuntu 24.04', labels: {}, createdAt: started },
  ];
  return {
    ...applySettingsPatch(
      { delays: DEFAULT_DELAYS, capacity: 100, quota: undefined, soldOut: [], faults: NO_FAULTS },
      { delays: parsed.delays, capacity: parsed.capacity, quota: parsed.quota, soldOut: parsed.soldOut, faults: parsed.faults },
    ),
    port: parsed.port ?? 0,
    tokens: new Map([...tokens].map(([holder, token]) => [token, holder])),
    uniqueNames: parsed.uniqueNames ?? true,
    rateLimit: parsed.rateLimit ?? DEFAULT_RATE_LIMIT,
    images,
    serverTypes: parsed.serverTypes ?? [...PROFILE_CATALOGUE[profile].serverTypes],
    locations: parsed.locations ?? [...PROFILE_CATALOGUE[profile].locations],
    seed: parsed.seed ?? 1,
    now: clock,
  };
}

/** `settings` with `patch` applied (validated first: throws LocalCloudConfigError). */
export function applySettingsPatch(settings: CloudSettings, patch: unknown): CloudSettings {
  const parsed = parse(settingsPatchSchema, patch, 'local cloud settings');
  const definedDelays = Object.fromEntries(Object.entries(parsed.delays ?? {}).filter(([, value]) => value !== undefined));
  const definedFaults = Object.fromEntries(Object.entries(parsed.faults ?? {}).filter(([, value]) => value !== undefined));
  return {
    delays: { ...settings.delays, ...definedDelays },
    capacity: parsed.capacity ?? settings.capacity,
    quota: parsed.quota === undefined ? settings.quota : (parsed.quota ?? undefined),
    soldOut: parsed.soldOut ?? settings.soldOut,
    faults: { ...settings.faults, ...definedFaults },
  };
}
