// The registry of published configuration: which server types exist, and what each is made of, as the reviewed
// stack files said when they were last published. Scripts read it (they know only DATABASE_URL); publishing writes
// it. Every publication that changes something is a new version; earlier versions stay.
import { prepared, type Row, type Sql, type Transaction } from './sql.ts';
import type { DrainSettings, FailurePolicy, ResolvedServerType } from './config.ts';
import { clearCreateBackoff } from './create-backoff.ts';
import { PROVISIONED_SQL } from './desired-state.ts';
import { DynamicServersError } from './errors.ts';
import { lockServerType } from './locks.ts';
import type { JsonObject } from './json.ts';
import { ROLLOUT_OFF, type RolloutPolicy } from './rollout-policy.ts';
import { contentHash, templateHash } from './template.ts';

/** The PostgreSQL notification channel a publication that changed something announces itself on. */
export const CONFIG_CHANNEL = 'dynamic_servers_config';

/** Advisory lock key (single bigint key space) held by a publication: publications apply one after the other. */
const REGISTRY_LOCK_KEY = 4_473_010_002;

/** Seconds a server may spend in each slow step before it is marked hanging. */
export interface TypeTimeouts {
  /** Waiting in `new` for `pulumi up` to create it. */
  newSeconds: number;
  bootSeconds: number;
  stopSeconds: number;
  deleteSeconds: number;
}

/** A server type's settings besides its provider and template, with every default filled in. */
export interface ServerTypeSettings {
  /** Most provisioned servers of the type, or null for no limit. */
  maxServers: number | null;
  timeouts: TypeTimeouts;
  /** What becomes of its servers that hang. */
  hangingServers: FailurePolicy;
  /** What becomes of its servers that error. */
  erroredServers: FailurePolicy;
  /** How its servers move to a newly published template. */
  rollout: RolloutPolicy;
  /** How its servers are drained before they are deleted. */
  drain: DrainSettings;
  /** What becomes of a server whose drain passed its deadline or whose hook threw. */
  undrainedServers: FailurePolicy;
  /**
   * The names of the template's offerings in order of preference, as its provider names them (`small@local-1`);
   * empty for a type published without them: its servers have one unnamed offering, the template itself.
   */
  offerings: string[];
  /** Hourly prices of offerings by name, from the stack file; they win over the prices the workers read from the cloud. */
  prices: Record<string, number>;
  /** Most money per hour for the type's provisioned servers together, or null for no budget. */
  budgetPerHour: number | null;
  /** Seconds an offering the cloud refused for capacity is skipped by every worker. */
  unavailableOfferingSeconds: number;
}

/** The settings of a stack file that sets nothing but its provider and template. */
export const DEFAULT_TYPE_SETTINGS: Readonly<ServerTypeSettings> = Object.freeze({
  maxServers: null,
  timeouts: Object.freeze({ newSeconds: 600, bootSeconds: 600, stopSeconds: 600, deleteSeconds: 600 }),
  hangingServers: 'delete',
  erroredServers: 'delete',
  rollout: ROLLOUT_OFF,
  drain: Object.freeze({ hook: null, timeoutSeconds: 300, maxSeconds: 3600 }),
  undrainedServers: 'delete',
  offerings: Object.freeze([]) as unknown as string[],
  prices: Object.freeze({}) as Record<string, number>,
  budgetPerHour: null,
  unavailableOfferingSeconds: 180,
});

/** One server type to publish, as the config layer validated it. */
export interface ServerTypeDefinition {
  name: string;
  provider: string;
  template: JsonObject;
  settings: ServerTypeSettings;
  /** Where it came from (the stack file's path), shown with the version. */
  source: string;
}

/** A provider's shared limits to publish. */
export interface ProviderSettings {
  /** Most provisioned servers on the provider, all types together, or null for no limit. */
  maxServers: number | null;
  /** Most money per hour for the provider's provisioned servers, all types together, or null for no budget. */
  budgetPerHour: number | null;
}

/** Everything one publication says: the complete set of types and provider limits (absent ones are retired). */
export interface Publication {
  serverTypes: readonly ServerTypeDefinition[];
  providers: Readonly<Record<string, ProviderSettings>>;
}

/** One published version of a server type. */
export interface PublishedServerType extends ServerTypeDefinition {
  version: number;
  templateHash: string;
  contentHash: string;
  publishedAt: Date;
  /** When its file was removed; null while the type is configured. */
  retiredAt: Date | null;
}

/** One published version of a provider's limits. */
export interface PublishedProvider {
  provider: string;
  version: number;
  settings: ProviderSettings;
  contentHash: string;
  publishedAt: Date;
  retiredAt: Date | null;
}

/** What a publication changed. */
export interface PublishReport {
  /** Types with a new version (new or changed files). */
  published: { serverType: string; version: number; contentHash: string }[];
  /** Types whose published version already says what the file says. */
  unchanged: string[];
  /** Types whose files are gone (no provisioned server left). */
  retired: string[];
  /** Providers whose limits got a new version, and providers whose limits were removed. */
  providers: { published: string[]; retired: string[] };
}

/**
 * A publication would retire a server type (its file is gone) that still has provisioned servers: they would run
 * on with nothing configured to manage them. Nothing was published.
 */
export class ServerTypeInUseError extends DynamicServersError {
  override name = 'ServerTypeInUseError';
  readonly serverTypes: readonly string[];

  constructor(inUse: readonly { serverType: string; provisioned: number }[]) {
    super(
      `cannot retire ${inUse.map(({ serverType, provisioned }) => `server type "${serverType}" (${provisioned} provisioned servers)`).join(', ')}: ` +
        `its stack file is gone but its servers are not; restore the file, ensure the type to 0 and wait for the servers to be deleted, then remove it`,
    );
    this.serverTypes = inUse.map(({ serverType }) => serverType);
  }
}

/** Settings as stored, with the defaults of keys added after they were published. */
function storedSettings(json: unknown): ServerTypeSettings {
  const stored = (json ?? {}) as Partial<ServerTypeSettings>;
  return {
    maxServers: stored.maxServers ?? DEFAULT_TYPE_SETTINGS.maxServers,
    timeouts: { ...DEFAULT_TYPE_SETTINGS.timeouts, ...stored.timeouts },
    hangingServers: stored.hangingServers ?? DEFAULT_TYPE_SETTINGS.hangingServers,
    erroredServers: stored.erroredServers ?? DEFAULT_TYPE_SETTINGS.erroredServers,
    rollout: stored.rollout ?? DEFAULT_TYPE_SETTINGS.rollout,
    drain: { ...DEFAULT_TYPE_SETTINGS.drain, ...stored.drain },
    undrainedServers: stored.undrainedServers ?? DEFAULT_TYPE_SETTINGS.undrainedServers,
    offerings: [...(stored.offerings ?? DEFAULT_TYPE_SETTINGS.offerings)],
    prices: { ...(stored.prices ?? DEFAULT_TYPE_SETTINGS.prices) },
    budgetPerHour: stored.budgetPerHour ?? DEFAULT_TYPE_SETTINGS.budgetPerHour,
    unavailableOfferingSeconds: stored.unavailableOfferingSeconds ?? DEFAULT_TYPE_SETTINGS.unavailableOfferingSeconds,
  };
}

/** Provider settings as stored, with the defaults of keys added after they were published. */
function storedProviderSettings(json: unknown): ProviderSettings {
  const stored = (json ?? {}) as Partial<ProviderSettings>;
  return { maxServers: stored.maxServers ?? null, budgetPerHour: stored.budgetPerHour ?? null };
}

interface TypeRow {
  server_type: string;
  version: number;
  provider: string;
  template: JsonObject;
  template_hash: string;
  settings: unknown;
  content_hash: string;
  source: string;
  published_at: Date | string;
  retired_at: Date | string | null;
}

function toPublishedType(row: TypeRow): PublishedServerType {
  return {
    name: row.server_type,
    version: Number(row.version),
    provider: row.provider,
    template: row.template,
    templateHash: row.template_hash,
    settings: storedSettings(row.settings),
    contentHash: row.content_hash,
    source: row.source,
    publishedAt: new Date(row.published_at),
    retiredAt: row.retired_at === null ? null : new Date(row.retired_at),
  };
}

interface ProviderRow {
  provider: string;
  version: number;
  settings: unknown;
  content_hash: string;
  published_at: Date | string;
  retired_at: Date | string | null;
}

function toPublishedProvider(row: ProviderRow): PublishedProvider {
  return {
    provider: row.provider,
    version: Number(row.version),
    settings: storedProviderSettings(row.settings),
    contentHash: row.content_hash,
    publishedAt: new Date(row.published_at),
    retiredAt: row.retired_at === null ? null : new Date(row.retired_at),
  };
}

const LATEST_TYPES = `select distinct on ("server_type") * from "server_type_config" order by "server_type", "version" desc`;
const LATEST_PROVIDERS = `select distinct on ("provider") * from "provider_config" order by "provider", "version" desc`;

/**
 * Writes `publication` in the caller's transaction, one publication at a time: a new version for every type or
 * provider whose content differs from its newest version (or that was retired), which also ends the back-off of
 * that type's creates, the retirement of every type and
 * provider the publication leaves out, and a notification on CONFIG_CHANNEL when anything changed. Throws
 * ServerTypeInUseError (nothing written) when a type to retire still has provisioned servers.
 */
export async function publishConfiguration(tx: Transaction, publication: Publication, now: Date): Promise<PublishReport> {
  await tx.execute('select pg_advisory_xact_lock(?)', [REGISTRY_LOCK_KEY]);
  const report: PublishReport = { published: [], unchanged: [], retired: [], providers: { published: [], retired: [] } };

  const latestTypes = new Map((await tx.execute<TypeRow[]>(LATEST_TYPES)).map((row) => [row.server_type, toPublishedType(row)]));
  const named = new Set(publication.serverTypes.map((type) => type.name));
  const toRetire = [...latestTypes.values()].filter((type) => type.retiredAt === null && !named.has(type.name)).map((type) => type.name).sort();
  const toPublish = publication.serverTypes
    .map((type) => ({ type, hash: contentHash({ provider: type.provider, template: type.template, settings: type.settings as unknown as JsonObject }) }))
    .filter(({ type, hash }) => {
      const latest = latestTypes.get(type.name);
      const unchanged = latest !== undefined && latest.retiredAt === null && latest.contentHash === hash;
      if (unchanged) report.unchanged.push(type.name);
      return !unchanged;
    });
  // Every type lock first, in the order of the names, before anything is written: count changes that run together
  // take several types' locks in that order (see readTypesForChanges), and two transactions that took them in
  // different orders could wait for each other.
  for (const name of [...toRetire, ...toPublish.map(({ type }) => type.name)].sort()) lockServerType(tx, name);
  if (toRetire.length > 0) {
    // Under the types' locks, so no change adds a server between this count and the commit (changes read the
    // configuration under the same lock, and see the type retired once they get it).
    const counts = await tx.execute<{ type: string; provisioned: number }[]>(
      `select "type", count(*)::int as provisioned from "server" where "type" in (${toRetire.map(() => '?').join(', ')}) and "status" in (${PROVISIONED_SQL}) group by "type"`,
      toRetire,
    );
    const inUse = counts.filter((row) => Number(row.provisioned) > 0).map((row) => ({ serverType: row.type, provisioned: Number(row.provisioned) }));
    if (inUse.length > 0) throw new ServerTypeInUseError(inUse);
  }

  for (const { type, hash } of toPublish) {
    const latest = latestTypes.get(type.name);
    const version = (latest?.version ?? 0) + 1;
    await tx.execute(
      `insert into "server_type_config" ("server_type", "version", "provider", "template", "template_hash", "settings", "content_hash", "source", "published_at") ` +
        `values (?, ?, ?, ?::jsonb, ?, ?::jsonb, ?, ?, ?::timestamptz)`,
      [type.name, version, type.provider, JSON.stringify(type.template), templateHash(type.template), JSON.stringify(type.settings), hash, type.source, now],
    );
    report.published.push({ serverType: type.name, version, contentHash: hash });
    // The failures that paused its creates happened with the previous version (a broken template, say).
    clearCreateBackoff(tx, type.name);
  }
  for (const name of toRetire) {
    await tx.execute(`update "server_type_config" set "retired_at" = ?::timestamptz where "server_type" = ? and "retired_at" is null`, [now, name]);
    report.retired.push(name);
  }

  const latestProviders = new Map((await tx.execute<ProviderRow[]>(LATEST_PROVIDERS)).map((row) => [row.provider, toPublishedProvider(row)]));
  for (const [provider, settings] of Object.entries(publication.providers)) {
    const hash = contentHash(settings as unknown as JsonObject);
    const latest = latestProviders.get(provider);
    if (latest && latest.retiredAt === null && latest.contentHash === hash) continue;
    await tx.execute(
      `insert into "provider_config" ("provider", "version", "settings", "content_hash", "published_at") values (?, ?, ?::jsonb, ?, ?::timestamptz)`,
      [provider, (latest?.version ?? 0) + 1, JSON.stringify(settings), hash, now],
    );
    report.providers.published.push(provider);
  }
  for (const latest of latestProviders.values()) {
    if (latest.retiredAt !== null || Object.hasOwn(publication.providers, latest.provider)) continue;
    await tx.execute(`update "provider_config" set "retired_at" = ?::timestamptz where "provider" = ? and "retired_at" is null`, [now, latest.provider]);
    report.providers.retired.push(latest.provider);
  }

  const changed = report.published.length + report.retired.length + report.providers.published.length + report.providers.retired.length > 0;
  if (changed) await tx.execute(`select pg_notify('${CONFIG_CHANNEL}', '')`);
  return report;
}

/** The configured (published, not retired) server types, by name, newest version each. */
export async function listServerTypes(db: Sql): Promise<PublishedServerType[]> {
  const rows = await db.execute<TypeRow[]>(`select * from (${LATEST_TYPES}) as latest where "retired_at" is null order by "server_type"`);
  return rows.map(toPublishedType);
}

/** Every published version of `serverType` (or of every type), oldest first. */
export async function listServerTypeVersions(db: Sql, serverType?: string): Promise<PublishedServerType[]> {
  const rows = await db.execute<TypeRow[]>(
    `select * from "server_type_config" ${serverType === undefined ? '' : 'where "server_type" = ?'} order by "server_type", "version"`,
    serverType === undefined ? [] : [serverType],
  );
  return rows.map(toPublishedType);
}

/** The limits in force per provider (published, not retired). */
export async function listProviders(db: Sql): Promise<PublishedProvider[]> {
  const rows = await db.execute<ProviderRow[]>(`select * from (${LATEST_PROVIDERS}) as latest where "retired_at" is null order by "provider"`);
  return rows.map(toPublishedProvider);
}

/** True when anything was ever published in this database. */
export async function anythingPublished(db: Sql): Promise<boolean> {
  return (await db.execute<{ found: boolean }[]>('select exists (select 1 from "server_type_config") as found'))[0]?.found === true;
}

/**
 * The query of what a change of one server type (its parameter) works with: the type's newest published version and
 * its provider's limits, as one row (none when the type was never published). `resolvedServerType` reads it.
 */
export const SERVER_TYPE_SQL =
  `select t."server_type", t."provider", t."template", t."template_hash", t."settings", t."retired_at", ` +
  `(select p."settings" from "provider_config" p where p."provider" = t."provider" and p."retired_at" is null order by p."version" desc limit 1) as provider_settings ` +
  `from "server_type_config" t where t."server_type" = ? order by t."version" desc limit 1`;

const RESOLVE_SERVER_TYPE = prepared(SERVER_TYPE_SQL);

/** SQL of the type's server limit (`maxServers`) in a row of SERVER_TYPE_SQL named `alias`: an int, null for none. */
export function typeMaximumSql(alias: string): string {
  return `(${alias}."settings"->>'maxServers')::int`;
}

/**
 * The type in the first of `rows` (of SERVER_TYPE_SQL, or of a query that selects its columns); undefined when it is
 * not configured (never published, or retired).
 */
export function resolvedServerType(rows: readonly Row[]): ResolvedServerType | undefined {
  const row = rows[0] as (Pick<TypeRow, 'server_type' | 'provider' | 'template' | 'template_hash' | 'settings' | 'retired_at'> & { provider_settings: unknown }) | undefined;
  if (!row || row.server_type === null || row.retired_at !== null) return undefined;
  const settings = storedSettings(row.settings);
  const provider = storedProviderSettings(row.provider_settings);
  return {
    name: row.server_type,
    provider: row.provider,
    maximum: settings.maxServers,
    providerMaximum: provider.maxServers,
    template: row.template,
    templateHash: row.template_hash,
    hangingServers: settings.hangingServers,
    erroredServers: settings.erroredServers,
    rollout: settings.rollout,
    drain: settings.drain,
    undrainedServers: settings.undrainedServers,
    offerings: settings.offerings,
    prices: settings.prices,
    budget: settings.budgetPerHour,
    providerBudget: provider.budgetPerHour,
    unavailableOfferingSeconds: settings.unavailableOfferingSeconds,
  };
}

/**
 * The configuration a change of `serverType` works with, read in the caller's transaction in one round trip (see
 * SERVER_TYPE_SQL). Undefined when the type is not configured (never published, or retired).
 */
export async function resolveServerType(tx: Transaction, serverType: string): Promise<ResolvedServerType | undefined> {
  return resolvedServerType(await tx.execute(RESOLVE_SERVER_TYPE, [serverType]));
}
