// The provider contract: what every cloud module gives the engine (the built-in ones in providers/, and provider
// packages, which import it as `dynamic-servers/provider`), and the typed errors the engine acts on. A provider has
// two sides:
//  - the Pulumi side declares the resources of one server inside a Pulumi program (run by `pulumi up`);
//  - the API side observes servers, lists them by label, and stops or reboots them where the cloud can.
// This module has no runtime dependency (its Pulumi imports are types only), so a dynamic provider running in
// the engine's plugin process can import it.
import type * as pulumi from '@pulumi/pulumi';

// ---------------------------------------------------------------------------------------------------------------
// Statuses

/** Every status a server can have in this project, in lifecycle order. */
export const SERVER_STATUSES = [
  'new',
  'starting',
  'running',
  'rebooting',
  'draining',
  'stopping',
  'stopped',
  'deleting',
  'deleted',
  'errored',
  'hanging',
] as const;

/** A server's status in this project's terms (not a cloud's). */
export type ServerStatus = (typeof SERVER_STATUSES)[number];

/** The statuses only the engine sets; a cloud never reports them. */
const ENGINE_STATUSES = ['new', 'draining', 'deleted', 'hanging'] as const;

/**
 * The statuses a provider may report when it observes a server. The other four belong to the engine:
 * `new` (not created yet), `draining` (the engine lets the server finish its work before deleting it),
 * `deleted` (proved only by a not-found answer, see ServerNotFoundError) and `hanging` (a step that outlasted its
 * timeout: the cloud itself still reports the step).
 */
export type ObservedStatus = Exclude<ServerStatus, (typeof ENGINE_STATUSES)[number]>;

/** The statuses of ObservedStatus, for validation. */
export const OBSERVED_STATUSES: readonly ObservedStatus[] = SERVER_STATUSES.filter(
  (status): status is ObservedStatus => !(ENGINE_STATUSES as readonly string[]).includes(status),
);

/**
 * A provider's table from its cloud's status names onto ours. Every status name the cloud documents must be in
 * it; mapCloudStatus rejects the others rather than guess.
 */
export type StatusMapping = Readonly<Record<string, ObservedStatus>>;

/**
 * Our status for `cloudStatus` according to `mapping`. Throws UnexpectedResponseError for a name the mapping does
 * not know: an unknown status is never silently read as running, stopped or deleted.
 */
export function mapCloudStatus(mapping: StatusMapping, cloudStatus: string): ObservedStatus {
  const status = Object.hasOwn(mapping, cloudStatus) ? mapping[cloudStatus] : undefined;
  if (!status) throw new UnexpectedResponseError(`the cloud reported status '${cloudStatus}', which this provider does not know`);
  return status;
}

// ---------------------------------------------------------------------------------------------------------------
// One server, as the engine declares it

/**
 * A stored snapshot template: the provider-specific settings every server of a type is created from (image or
 * snapshot, size, location, ...), reviewed in `stacks/Pulumi.<type>.yaml`. Each provider validates its own shape.
 */
export type SnapshotTemplate = Readonly<Record<string, unknown>>;

/** What the engine asks a provider's Pulumi side to declare: one server of one type. */
export interface ServerDeclaration {
  /**
   * The installation the server belongs to: the id of the records database that asked for it (lowercase letters
   * and digits, 1 to 63). Two installations may share one cloud project; each only ever selects its own servers.
   */
  installation: string;
  /** The server's stable id (from its record): lowercase letters, digits and inner dashes, at most 63 characters. */
  serverId: string;
  /** The server type it belongs to (one Pulumi stack per type); same character rules as serverId. */
  serverType: string;
  /** The type's stored snapshot template. */
  template: SnapshotTemplate;
  /**
   * The cloud id of a server that already exists for this declaration (the engine found it by its labels after a
   * crash lost the stack's record of it): the resource must take that server into the stack instead of creating
   * one (Pulumi's `import` option for native resources; for dynamic resources, which Pulumi cannot import, a
   * create that returns this server). Absent: create as usual.
   */
  adopt?: string;
}

/** Labels on every server this project creates: who manages it, its installation, its type, and its stable id. */
export const LABEL = { managedBy: 'managed-by', installation: 'installation', serverType: 'server-type', serverId: 'server-id' } as const;

/** The value of the managed-by label. */
export const MANAGED_BY = 'dynamic-servers';

/** Labels as clouds store them: key to value. */
export type Labels = Readonly<Record<string, string>>;

const STABLE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const INSTALLATION_ID = /^[a-z0-9]{1,63}$/;

/**
 * Checks the parts of a declaration every provider relies on (ids usable as label values and host names, an
 * installation id, a template object, an adopted id that is a non-empty string). Throws InvalidRequestError naming
 * the bad field; provider-specific template fields and cloud id formats are the provider's to check.
 */
export function validateDeclaration(declaration: ServerDeclaration): void {
  for (const field of ['serverId', 'serverType'] as const) {
    const value: unknown = declaration?.[field];
    if (typeof value !== 'string' || !STABLE_NAME.test(value)) {
      throw new InvalidRequestError(
        `${field} must be 1-63 lowercase letters, digits or inner dashes (got ${JSON.stringify(value)})`,
      );
    }
  }
  if (typeof declaration.installation !== 'string' || !INSTALLATION_ID.test(declaration.installation)) {
    throw new InvalidRequestError(`installation must be 1-63 lowercase letters or digits (got ${JSON.stringify(declaration.installation)})`);
  }
  if (typeof declaration.template !== 'object' || declaration.template === null || Array.isArray(declaration.template)) {
    throw new InvalidRequestError(`template of server ${declaration.serverId} must be an object`);
  }
  if (declaration.adopt !== undefined && (typeof declaration.adopt !== 'string' || declaration.adopt === '')) {
    throw new InvalidRequestError(`adopt of server ${declaration.serverId} must be a cloud id (got ${JSON.stringify(declaration.adopt)})`);
  }
}

/** The labels of the server `declaration` declares (managed-by, installation, server type, server id). */
export function serverLabels(declaration: Pick<ServerDeclaration, 'installation' | 'serverType' | 'serverId'>): Labels {
  return {
    [LABEL.managedBy]: MANAGED_BY,
    [LABEL.installation]: declaration.installation,
    [LABEL.serverType]: declaration.serverType,
    [LABEL.serverId]: declaration.serverId,
  };
}

/** The labels that select every server of `serverType` that installation `installation` manages (and no other's). */
export function serverTypeSelector(installation: string, serverType: string): Labels {
  return { [LABEL.managedBy]: MANAGED_BY, [LABEL.installation]: installation, [LABEL.serverType]: serverType };
}

/**
 * The labels that select the server with stable id `serverId` of installation `installation` (idempotent creation
 * and the engine's adoption look it up by these; a server of another installation never matches).
 */
export function serverIdSelector(installation: string, serverId: string): Labels {
  return { [LABEL.managedBy]: MANAGED_BY, [LABEL.installation]: installation, [LABEL.serverId]: serverId };
}

/**
 * The labels by which a create that adopts looks for the server it may already have made: those of `labels` among
 * managed-by, installation and server id. Undefined when `labels` has no server id (creation cannot be made
 * idempotent).
 */
export function identityLabels(labels: Labels): Labels | undefined {
  if (!labels?.[LABEL.serverId]) return undefined;
  const keys = [LABEL.managedBy, LABEL.installation, LABEL.serverId];
  return Object.fromEntries(keys.filter((key) => labels[key] !== undefined).map((key) => [key, labels[key]!]));
}

/**
 * The name of the server in the cloud and of its Pulumi resource: its stable id, so a retried or repeated
 * creation can never produce a second server under another name.
 */
export function serverName(declaration: ServerDeclaration): string {
  return declaration.serverId;
}

// ---------------------------------------------------------------------------------------------------------------
// Offerings: where a server of a type can be created, in order of preference

/**
 * One way to create a server of a type: a size in a place (Hetzner: server type and location; AWS: instance type and
 * subnet). A template lists its offerings in order of preference: its own fields first, then each entry of its
 * `fallbacks`, whose fields replace the template's. A create the cloud refuses for capacity moves the server on to
 * the next offering.
 */
export interface Offering {
  /** Unique among the template's offerings, e.g. `cx22@fsn1`: recorded on the server's row, skipped while unavailable, priced. */
  name: string;
  /** What a server on this offering is created from: the template with the offering's fields, without `fallbacks`. */
  template: SnapshotTemplate;
}

/** The template key that lists the fallback offerings of a template, in order of preference. */
export const FALLBACKS_KEY = 'fallbacks';

/**
 * The offerings of a template the provider has validated, in order of preference: the template itself (without
 * `fallbacks`), then the template with the fields of each `fallbacks` entry over it, each named by `nameOf`. Throws
 * InvalidRequestError when two offerings have the same name (a fallback that changes nothing).
 */
export function templateOfferings(template: SnapshotTemplate, nameOf: (offering: SnapshotTemplate) => string): Offering[] {
  const { [FALLBACKS_KEY]: fallbacks, ...own } = template;
  const entries = Array.isArray(fallbacks) ? (fallbacks as SnapshotTemplate[]) : [];
  const offerings = [own, ...entries.map((entry) => ({ ...own, ...entry }))].map((offering) => ({ name: nameOf(offering), template: offering }));
  const seen = new Set<string>();
  for (const offering of offerings) {
    if (seen.has(offering.name)) throw new InvalidRequestError(`the template lists offering ${offering.name} twice: each fallback must name another size or place`);
    seen.add(offering.name);
  }
  return offerings;
}

/**
 * The template a server on offering `name` of `template` is created from (see ServerProvider.offerings); the first
 * offering's when `name` is null (a server recorded before offerings existed), and the template itself for a provider
 * without `offerings`. Throws InvalidRequestError when the template has no offering of that name.
 */
export function offeringTemplate(provider: Pick<ServerProvider, 'offerings'>, template: SnapshotTemplate, name: string | null): SnapshotTemplate {
  if (!provider.offerings) {
    if (name === null) return template;
    throw new InvalidRequestError(`the provider names no offerings, so a server cannot be on offering ${name}`);
  }
  const offerings = provider.offerings(template);
  const offering = name === null ? offerings[0] : offerings.find((candidate) => candidate.name === name);
  if (!offering) throw new InvalidRequestError(`the template has no offering ${String(name)}; it offers ${offerings.map((candidate) => candidate.name).join(', ')}`);
  return offering.template;
}

/** The hourly price of one offering, as a cloud lists it. */
export interface OfferingPrice {
  /** The offering's name, as the provider's `offerings` names it. */
  offering: string;
  /** Price per hour, net of tax, in `currency`. */
  hourly: number;
  /** ISO 4217 code, e.g. `EUR`. */
  currency: string;
}

// ---------------------------------------------------------------------------------------------------------------
// The API side

/** One server as a provider observed it. */
export interface ObservedServer {
  /** The cloud's own id of the server (the Pulumi resource id). */
  providerId: string;
  name: string;
  status: ObservedStatus;
  /** The status name the cloud reported, for logs. */
  cloudStatus: string;
  labels: Labels;
  /** Public IPv4 address, when the cloud assigned one. */
  ipv4?: string;
  /** When the cloud created it (ISO 8601). */
  createdAt: string;
}

/**
 * What the engine asks of a cloud outside `pulumi up`. Every method throws ProviderError subclasses only:
 * TransientProviderError after the client's own retries, ProviderAuthError for rejected credentials, and so on.
 */
export interface ServerApi {
  /**
   * Observes one server. Throws ServerNotFoundError only when the cloud answered that it does not exist: the one
   * proof of deletion. Any other failure (HTTP 500, 401, timeouts) is a different error, never "deleted".
   */
  observe(providerId: string): Promise<ObservedServer>;
  /** Every server whose labels include all of `labels` (all pages), servers being deleted included. */
  list(labels: Labels): Promise<ObservedServer[]>;
  /** Asks the server to shut down; present only where the cloud supports it. Returns once the cloud accepted. */
  stop?(providerId: string): Promise<void>;
  /** Asks the server to reboot; present only where the cloud supports it. Returns once the cloud accepted. */
  reboot?(providerId: string): Promise<void>;
  /**
   * Deletes a server outside `pulumi up`: only for a labelled server no stack tracks (a leak left by a crash).
   * Not-found counts as done. Returns once the cloud accepted the deletion.
   */
  delete(providerId: string): Promise<void>;
}

/**
 * The status of server `providerId` in our terms, with deletion made explicit: `deleted` exactly when `observe`
 * threw ServerNotFoundError. Every other error propagates.
 */
export async function observeStatus(api: ServerApi, providerId: string): Promise<ServerStatus> {
  try {
    return (await api.observe(providerId)).status;
  } catch (error) {
    if (error instanceof ServerNotFoundError) return 'deleted';
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The Pulumi side

/** What a provider's Pulumi side declared for one server. */
export interface DeclaredServer {
  /** The resource that owns the server (delete it from the program and `up` deletes the server). */
  resource: pulumi.Resource;
  /** The cloud's id of the server, known once `up` created it. */
  providerId: pulumi.Output<string>;
}

/**
 * A cloud as the engine uses it. `declareServer` runs inside a Pulumi program; it validates the declaration
 * (InvalidRequestError) and declares a resource named serverName(declaration) carrying serverLabels(declaration).
 * With `declaration.adopt`, the resource takes that existing server into the stack instead of creating one.
 * The resource's create returns once the cloud accepted the request; it need not be idempotent (the native
 * plugins' are not): the engine itself adopts what a crashed update created (see ServerDeclaration.adopt) and
 * deletes servers of its installation that neither a record nor the stack holds. Its delete returns once the cloud
 * accepted the deletion and treats not-found as done. The engine observes the rest through `api`.
 */
export interface ServerProvider {
  /** Short name of the cloud, e.g. `local`. */
  readonly name: string;
  /** Throws InvalidRequestError when `template` is not a valid snapshot template for this cloud. */
  checkTemplate(template: SnapshotTemplate): void;
  /**
   * The offerings of a valid `template`, in order of preference (see Offering; templateOfferings builds them). Pure:
   * the same template always gives the same names, the same as its factory's `offerings`. Throws InvalidRequestError
   * for a template checkTemplate refuses. Optional: without it the template is a type's one offering, unnamed (its
   * servers are created from the template as it is, and a capacity refusal errors them: there is nothing to fall
   * back on).
   */
  offerings?(template: SnapshotTemplate): Offering[];
  declareServer(declaration: ServerDeclaration, options?: pulumi.CustomResourceOptions): DeclaredServer;
  /**
   * The typed error the text of a failed deployment step of this provider's resources carries (the engine's
   * diagnostic for the resource, as the provider's Pulumi plugin wrote it), or undefined when the text names none.
   * Dynamic providers read the tag markProviderError put there (parseProviderError); native plugins' texts carry the
   * cloud's own error codes.
   */
  parseDeploymentError(text: string): ProviderError | undefined;
  readonly api: ServerApi;
  /**
   * The hourly price of every offering the cloud lists, named as `offerings` names them; present only where the cloud
   * publishes prices (Hetzner's pricing endpoint), and then its factory says `publishesPrices`. Throws ProviderError
   * subclasses only.
   */
  prices?(): Promise<OfferingPrice[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// The provider as the engine loads it

/**
 * A provider's settings for one server type: the stack config keys of its namespace (`local:endpoint` for the
 * key `endpoint`, secrets decrypted), else the environment variable `<envPrefix>_<KEY>` (`LOCAL_CLOUD_ENDPOINT`).
 * Values live only in memory.
 */
export interface ProviderSettings {
  get(key: string): string | undefined;
  /** The value, or an error naming the config key and the variable that would set it. */
  require(key: string): string;
  /** A directory the engine owns, for providers that keep files (the fake cloud). */
  dataDir: string;
}

/**
 * What a provider module gives the engine: how to check a template and name its offerings without credentials
 * (`dynamic-servers validate` runs them on pull requests), whether its clouds publish prices, and how to make the
 * provider from a server type's settings. A provider in a package of its own is the package's default export; a stack
 * file names the package (`dynamic-servers:provider: '@acme/dynamic-servers-foo'`) and the engine imports it from the
 * deployment project.
 */
export interface ProviderFactory {
  /** The stack config namespace of its settings (`foo` reads `foo:endpoint`): lowercase letters, digits and dashes. */
  readonly configNamespace: string;
  /** The prefix of the environment variables of its settings (`FOO_CLOUD` reads `FOO_CLOUD_ENDPOINT`). */
  readonly envPrefix: string;
  /** Throws (InvalidRequestError) when the provider cannot create servers from `template`; needs no settings. */
  checkTemplate(template: SnapshotTemplate): void;
  /**
   * The offerings of a template checkTemplate accepts, in order of preference (its `fallbacks` after it; see
   * Offering), as the providers it creates name them (ServerProvider.offerings); throws InvalidRequestError for a
   * template it refuses. Needs no settings. Optional: without it each template is one unnamed offering, with no
   * fallbacks and no price a stack file can name.
   */
  offerings?(template: SnapshotTemplate): Offering[];
  /**
   * True when the providers it creates read their offerings' hourly prices from the cloud (ServerProvider.prices);
   * otherwise a budget needs every offering's price in the stack file. Default false.
   */
  readonly publishesPrices?: boolean;
  /** The provider configured by `settings`; throws when a setting it needs is missing or malformed. */
  create(settings: ProviderSettings): ServerProvider;
}

/**
 * Imports `specifier`, a package name or an exported subpath of a package (`@acme/dynamic-servers-foo/client`),
 * never a path, as the deployment project resolves it: from the directory in DYNAMIC_SERVERS_MODULE_DIR when set
 * (the conformance harness sets it), else from the working directory, which Pulumi's dynamic-provider plugin sets to
 * the project's. The package must export the subpath under a `default` (or `require`) condition.
 *
 * For the methods of a dynamic resource: Pulumi serializes them into the stack's state and runs them in its plugin
 * process, so they capture only this function and a specifier, and load their code through it. The state then
 * names no path of a checkout or an install, and the project can move, or its packages be upgraded, between two
 * `up`s: the next delete runs the code installed then. It uses nothing but dynamic imports, so Pulumi can serialize it.
 * `Module` is the module's type (`typeof import('./client.ts')`), for the caller's type checks only.
 */
export async function importFromProject<Module = Record<string, unknown>>(specifier: string): Promise<Module> {
  const { createRequire } = await import('node:module');
  const { join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const base = process.env.DYNAMIC_SERVERS_MODULE_DIR || process.cwd();
  return import(pathToFileURL(createRequire(join(base, 'package.json')).resolve(specifier)).href);
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** What went wrong, as the engine acts on it; also the tag carried through `pulumi up` (see markProviderError). */
export type ProviderErrorKind =
  | 'not-found'
  | 'insufficient-capacity'
  | 'quota-exceeded'
  | 'transient'
  | 'unauthorized'
  | 'invalid-request'
  | 'unexpected-response';

/** Where an error came from in the cloud's answer, when it came from one. */
export interface CloudErrorDetails {
  /** HTTP status of the answer. */
  httpStatus?: number;
  /** The cloud's own error code (e.g. `resource_unavailable`). */
  cloudCode?: string;
  cause?: unknown;
}

/** Base of every error a provider throws; tell the kinds apart with instanceof on the subclasses. */
export abstract class ProviderError extends Error {
  abstract readonly kind: ProviderErrorKind;
  readonly httpStatus: number | undefined;
  readonly cloudCode: string | undefined;

  constructor(message: string, details: CloudErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.httpStatus = details.httpStatus;
    this.cloudCode = details.cloudCode;
  }
}

/** The cloud answered that the server does not exist. The only proof that a server is deleted. */
export class ServerNotFoundError extends ProviderError {
  override name = 'ServerNotFoundError';
  readonly kind = 'not-found';
}

/** The cloud has no room for the server right now (e.g. Hetzner `resource_unavailable`). Try later or elsewhere. */
export class InsufficientCapacityError extends ProviderError {
  override name = 'InsufficientCapacityError';
  readonly kind = 'insufficient-capacity';
}

/** The account's limit for servers is reached (e.g. Hetzner `resource_limit_exceeded`). Needs a human or fewer servers. */
export class QuotaExceededError extends ProviderError {
  override name = 'QuotaExceededError';
  readonly kind = 'quota-exceeded';
}

/**
 * A failure that may pass by itself: HTTP 5xx, rate limiting, lost connections, timeouts. Thrown after the
 * client's own retries; `retryAfterMs` is the cloud's hint when it gave one.
 */
export class TransientProviderError extends ProviderError {
  override name = 'TransientProviderError';
  readonly kind = 'transient';
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: CloudErrorDetails & { retryAfterMs?: number } = {}) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** The cloud rejected the credentials (HTTP 401/403). Retrying does not help; it says nothing about any server. */
export class ProviderAuthError extends ProviderError {
  override name = 'ProviderAuthError';
  readonly kind = 'unauthorized';
}

/** The request itself is wrong: a bad declaration or template, or input the cloud refused. Retrying does not help. */
export class InvalidRequestError extends ProviderError {
  override name = 'InvalidRequestError';
  readonly kind = 'invalid-request';
}

/** The cloud answered something the provider cannot read (unknown status, malformed body). */
export class UnexpectedResponseError extends ProviderError {
  override name = 'UnexpectedResponseError';
  readonly kind = 'unexpected-response';
}

const ERROR_CLASSES: Record<ProviderErrorKind, new (message: string) => ProviderError> = {
  'not-found': ServerNotFoundError,
  'insufficient-capacity': InsufficientCapacityError,
  'quota-exceeded': QuotaExceededError,
  transient: TransientProviderError,
  unauthorized: ProviderAuthError,
  'invalid-request': InvalidRequestError,
  'unexpected-response': UnexpectedResponseError,
};

/** A new error of `kind` with `message` (used by fakes and by parseProviderError). */
export function providerErrorOfKind(kind: ProviderErrorKind, message: string): ProviderError {
  return new ERROR_CLASSES[kind](message);
}

const MARKER = /\[provider-error:([a-z-]+)\]/;

/**
 * An Error to throw out of a dynamic provider: `pulumi up` only carries the message across, so the message gets
 * a `[provider-error:<kind>]` tag that parseProviderError reads back. Errors that are not ProviderErrors pass as
 * they are.
 */
export function markProviderError(error: unknown): unknown {
  if (!(error instanceof ProviderError) || MARKER.test(error.message)) return error;
  return new Error(`${error.name}: ${error.message} [provider-error:${error.kind}]`, { cause: error });
}

/**
 * The typed error a `pulumi up` failure text carries (see markProviderError), or undefined when the text has none.
 */
export function parseProviderError(text: string): ProviderError | undefined {
  const kind = MARKER.exec(text)?.[1];
  if (!kind || !Object.hasOwn(ERROR_CLASSES, kind)) return undefined;
  return providerErrorOfKind(kind as ProviderErrorKind, text.trim());
}
