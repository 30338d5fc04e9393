// The one client of the Hetzner Cloud API's server endpoints, used by the hcloud provider (against Hetzner) and by
// the local provider (against the local cloud, which answers in the same shapes): observe, list by label across
// pages, create from an image with adoption by label, stop, reboot and delete servers, and poll actions. Paced by
// the API's rate limit, retried, every failure a typed ProviderError. The few differences between the two clouds
// are options. It imports nothing but the contract, zod and its own modules, so a dynamic provider running in the
// engine's plugin process can load it.
import { z } from 'zod';
import {
  identityLabels,
  InvalidRequestError,
  LABEL,
  mapCloudStatus,
  ProviderAuthError,
  ServerNotFoundError,
  TransientProviderError,
  UnexpectedResponseError,
  type Labels,
  type ObservedServer,
  type ObservedStatus,
  type ProviderError,
  type ServerApi,
} from '../contract.ts';
import { errorOfCode } from './errors.ts';
import { requestOnce, type HetznerHttp } from './http.ts';
import { labelSelector } from './label-selector.ts';
import { RateLimitGate } from './rate-limit.ts';
import { withRetries, type RetryPolicy } from './retry.ts';
import { HETZNER_STATUS_MAPPING, RUNNING_ACTION_STATUSES } from './status.ts';

/** How to reach a Hetzner-shaped API and how hard to try. */
export interface HetznerApiOptions {
  /** Base URL of the API, e.g. `https://api.hetzner.cloud/v1`. */
  endpoint: string;
  /** API token, sent only as the Authorization header. */
  token?: string;
  /** The cloud's name in messages (`Hetzner Cloud`, `local cloud`). */
  cloudName: string;
  /**
   * When the cloud always needs a token: what the ProviderAuthError says when none was given (where to set one).
   * Without it, requests go without an Authorization header when there is no token.
   */
  missingTokenHint?: string;
  /** Retries after a transient failure (default 4). */
  retries?: number;
  /** Base of the exponential backoff in milliseconds (default 500). */
  backoffMs?: number;
  /** Longest backoff in milliseconds (default 10000). */
  maxBackoffMs?: number;
  /** A longer wait asked by the API is not waited for: the error goes to the caller (default 60000 ms). */
  maxRetryAfterMs?: number;
  /** Milliseconds before a request is abandoned (default 30000). */
  requestTimeoutMs?: number;
  /**
   * Whether `observe` also reads a running server's running actions, to report a reboot (which Hetzner shows
   * only as an action) as `rebooting`. Costs one more request per observation of a running server (default true).
   */
  watchActions?: boolean;
  /** How often an action is polled while waiting for it (default 1000 ms). */
  actionPollMs?: number;
  /**
   * Whether `delete` first shuts a running server down gracefully (ACPI), waiting up to `shutdownTimeoutMs`
   * (default 60000) before deleting it anyway. Default false: delete at once.
   */
  shutdownBeforeDelete?: boolean;
  shutdownTimeoutMs?: number;
  /** How to wait (tests pass one that records the waits). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** The clock of the rate-limit arithmetic and action deadlines (default Date.now). */
  now?: () => number;
}

/** The image a server boots from: by id, the newest available snapshot carrying labels, or the newest available snapshot with a description. */
export type ImageRef = { id: string } | { selector: Labels } | { description: string };

/** What a server is created from (`POST /servers`). */
export interface ServerCreateSpec {
  name: string;
  /** Must contain the `server-id` label: creation is idempotent by it. */
  labels: Labels;
  serverType: string;
  image: ImageRef;
  /** The cloud's default location when absent. */
  location?: string;
  sshKeys?: string[];
  userData?: string;
  firewallIds?: number[];
  networkIds?: number[];
  placementGroupId?: number;
  /** Public IPv4 and IPv6 (both default to true). */
  publicIpv4?: boolean;
  publicIpv6?: boolean;
}

const serverSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  status: z.string(),
  created: z.string(),
  labels: z.record(z.string(), z.string()),
  public_net: z.looseObject({ ipv4: z.looseObject({ ip: z.string() }).nullable().optional() }).optional(),
});
type ServerBody = z.infer<typeof serverSchema>;
const pagination = z.looseObject({ pagination: z.looseObject({ next_page: z.number().int().nullable() }) });
/** A page of a list answer: its `meta.pagination.next_page` is null on the last page. */
type Paged = { meta: z.infer<typeof pagination> };
const serverPage = z.looseObject({ servers: z.array(serverSchema), meta: pagination });
const actionSchema = z.looseObject({
  id: z.number().int(),
  command: z.string(),
  status: z.enum(['running', 'success', 'error']),
  error: z.looseObject({ code: z.string(), message: z.string() }).nullable().optional(),
});
type Action = z.infer<typeof actionSchema>;
const actionPage = z.looseObject({ actions: z.array(actionSchema) });
const imagePage = z.looseObject({ images: z.array(z.looseObject({ id: z.number().int(), description: z.string().nullable().optional() })), meta: pagination });

const money = z.looseObject({ net: z.string().regex(/^\d+(\.\d+)?$/) });
const pricingSchema = z.looseObject({
  pricing: z.looseObject({
    currency: z.string().min(1),
    server_types: z.array(z.looseObject({ name: z.string(), prices: z.array(z.looseObject({ location: z.string(), price_hourly: money })) })),
  }),
});

/** The hourly price of one server type in one location, as `GET /pricing` lists it. */
export interface ServerTypePrice {
  serverType: string;
  location: string;
  /** Net of VAT, in `currency`. */
  hourly: number;
  currency: string;
}

const PROVIDER_ID = /^[1-9]\d{0,15}$/;
const PER_PAGE = 50;

function read<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new UnexpectedResponseError(`${what}: the answer does not have the expected shape (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}

function observed(server: ServerBody, status: ObservedStatus = mapCloudStatus(HETZNER_STATUS_MAPPING, server.status)): ObservedServer {
  return {
    providerId: String(server.id),
    name: server.name,
    status,
    cloudStatus: server.status,
    labels: server.labels,
    ...(server.public_net?.ipv4?.ip ? { ipv4: server.public_net.ipv4.ip } : {}),
    createdAt: server.created,
  };
}

/** The body of `POST /servers` for `spec`, booting from image `imageId`. */
function createServerBody(spec: ServerCreateSpec, imageId: string): Record<string, unknown> {
  return {
    name: spec.name,
    server_type: spec.serverType,
    image: imageId,
    ...(spec.location === undefined ? {} : { location: spec.location }),
    start_after_create: true,
    labels: spec.labels,
    ...(spec.sshKeys ? { ssh_keys: spec.sshKeys } : {}),
    ...(spec.userData === undefined ? {} : { user_data: spec.userData }),
    ...(spec.firewallIds ? { firewalls: spec.firewallIds.map((firewall) => ({ firewall })) } : {}),
    ...(spec.networkIds ? { networks: spec.networkIds } : {}),
    ...(spec.placementGroupId === undefined ? {} : { placement_group: spec.placementGroupId }),
    public_net: { enable_ipv4: spec.publicIpv4 ?? true, enable_ipv6: spec.publicIpv6 ?? true },
  };
}

/** The typed error of a failed action (its `error.code` read like an API error code). */
function actionError(action: Action): ProviderError {
  const code = action.error?.code ?? 'action_failed';
  return errorOfCode(`action ${action.id} (${action.command}): ${code}: ${action.error?.message ?? 'failed'}`, { cloudCode: code });
}

/** A client of one Hetzner-shaped API. Every method throws ProviderError subclasses only. */
export class HetznerApiClient implements ServerApi {
  readonly #endpoint: string;
  readonly #token: string | undefined;
  readonly #cloudName: string;
  readonly #missingTokenHint: string | undefined;
  readonly #retry: RetryPolicy;
  readonly #gate = new RateLimitGate();
  readonly #timeoutMs: number;
  readonly #watchActions: boolean;
  readonly #actionPollMs: number;
  readonly #shutdownBeforeDelete: boolean;
  readonly #shutdownTimeoutMs: number;
  readonly #now: () => number;

  /** Throws InvalidRequestError when the endpoint is not an http(s) URL. A required token is checked when first needed. */
  constructor(options: HetznerApiOptions) {
    let endpoint: URL;
    try {
      endpoint = new URL(options.endpoint);
    } catch {
      throw new InvalidRequestError(`the ${options.cloudName} endpoint '${options.endpoint}' is not a URL`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new InvalidRequestError(`the ${options.cloudName} endpoint '${options.endpoint}' is not an http(s) URL`);
    this.#endpoint = endpoint.href.replace(/\/+$/, '');
    this.#token = options.token || undefined;
    this.#cloudName = options.cloudName;
    this.#missingTokenHint = options.missingTokenHint;
    this.#retry = {
      retries: options.retries ?? 4,
      backoffMs: options.backoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      sleep: options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
      random: Math.random,
    };
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#watchActions = options.watchActions ?? true;
    this.#actionPollMs = options.actionPollMs ?? 1000;
    this.#shutdownBeforeDelete = options.shutdownBeforeDelete ?? false;
    this.#shutdownTimeoutMs = options.shutdownTimeoutMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  get #http(): HetznerHttp {
    if (!this.#token && this.#missingTokenHint !== undefined) throw new ProviderAuthError(`no ${this.#cloudName} API token: ${this.#missingTokenHint}`);
    return { endpoint: this.#endpoint, token: this.#token, timeoutMs: this.#timeoutMs, gate: this.#gate, maxWaitMs: this.#retry.maxRetryAfterMs, sleep: this.#retry.sleep, now: this.#now };
  }

  #request(method: string, path: string, body?: unknown): Promise<unknown> {
    return requestOnce(this.#http, method, path, body);
  }

  #serverPath(providerId: string): string {
    if (typeof providerId !== 'string' || !PROVIDER_ID.test(providerId)) {
      throw new InvalidRequestError(`'${String(providerId)}' is not a ${this.#cloudName} server id (a positive integer)`);
    }
    return `/servers/${providerId}`;
  }

  /** GET of a collection whose 404 can only mean a wrong endpoint: never read as "not found". */
  async #getCollection(path: string): Promise<unknown> {
    try {
      return await this.#request('GET', path);
    } catch (error) {
      if (error instanceof ServerNotFoundError) throw new UnexpectedResponseError(`GET ${path.split('?')[0]} answered not found: is ${this.#endpoint} the API's base URL?`, { cause: error });
      throw error;
    }
  }

  /** Every page of the collection at `path` with `query`, 50 items a page, each read with `schema`. */
  async #allPages<T extends Paged>(path: string, query: Record<string, string>, schema: z.ZodType<T>): Promise<T[]> {
    const pages: T[] = [];
    for (let page: number | null = 1; page !== null; ) {
      const url: string = `${path}?${new URLSearchParams({ ...query, page: String(page), per_page: String(PER_PAGE) })}`;
      const answer: T = read(schema, await this.#getCollection(url), `GET ${path}`);
      pages.push(answer);
      page = answer.meta.pagination.next_page;
    }
    return pages;
  }

  /** One attempt at observing server `providerId`, a running one's running actions included when watched. */
  async #observeOnce(providerId: string): Promise<ObservedServer> {
    const path = this.#serverPath(providerId);
    const server = read(z.looseObject({ server: serverSchema }), await this.#request('GET', path), `GET ${path}`).server;
    if (!this.#watchActions || server.status !== 'running') return observed(server);
    const query = new URLSearchParams({ status: 'running', sort: 'id:desc', per_page: String(PER_PAGE) });
    const { actions } = read(actionPage, await this.#getCollection(`${path}/actions?${query}`), `GET ${path}/actions`);
    const busy = actions.map((action) => RUNNING_ACTION_STATUSES[action.command]).find((status) => status !== undefined);
    return observed(server, busy);
  }

  /** One attempt at listing every page of servers matching `labels`. */
  async #listOnce(labels: Labels): Promise<ObservedServer[]> {
    const pages = await this.#allPages('/servers', { label_selector: labelSelector(labels) }, serverPage);
    return pages.flatMap((page) => page.servers.map((server) => observed(server)));
  }

  /** {@inheritDoc ServerApi.observe} With watched actions, a running server with a running reboot action is `rebooting`. */
  observe(providerId: string): Promise<ObservedServer> {
    return withRetries(this.#retry, () => this.#observeOnce(providerId));
  }

  /**
   * {@inheritDoc ServerApi.list} Statuses are the API's own: a server rebooting shows as `running` here (only
   * `observe` reads actions).
   */
  list(labels: Labels): Promise<ObservedServer[]> {
    return withRetries(this.#retry, () => this.#listOnce(labels));
  }

  /** {@inheritDoc ServerApi.stop} A graceful (ACPI) shutdown; a server already stopping or off is left as it is. */
  async stop(providerId: string): Promise<void> {
    const path = `${this.#serverPath(providerId)}/actions/shutdown`;
    await withRetries(this.#retry, async () => {
      const server = await this.#observeOnce(providerId);
      if (server.status === 'stopping' || server.status === 'stopped') return;
      if (server.status === 'deleting') throw new InvalidRequestError(`server ${providerId} is being deleted; it cannot be stopped`);
      await this.#request('POST', path);
    });
  }

  /**
   * {@inheritDoc ServerApi.reboot} A soft (ACPI) reboot. A retry first checks whether the earlier attempt's reboot
   * is under way, so a lost answer does not reboot twice.
   */
  async reboot(providerId: string): Promise<void> {
    const path = `${this.#serverPath(providerId)}/actions/reboot`;
    await withRetries(this.#retry, async (attempt) => {
      if (attempt > 0 && (await this.#observeOnce(providerId)).status === 'rebooting') return;
      await this.#request('POST', path);
    });
  }

  /**
   * The id of the image `image` names: its id; or the newest available snapshot carrying all the selector's
   * labels, or having the description. Throws InvalidRequestError when no snapshot matches.
   */
  async #resolveImage(image: ImageRef): Promise<string> {
    if ('id' in image) return image.id;
    const wanted = 'selector' in image ? `carries the labels ${labelSelector(image.selector)}` : `has the description '${image.description}'`;
    const query: Record<string, string> = { type: 'snapshot', status: 'available', sort: 'created:desc', ...('selector' in image ? { label_selector: labelSelector(image.selector) } : {}) };
    const pages = await withRetries(this.#retry, () => this.#allPages('/images', query, imagePage));
    const found = pages.flatMap((page) => page.images).find((candidate) => 'selector' in image || candidate.description === image.description);
    if (!found) throw new InvalidRequestError(`no available snapshot ${wanted}`);
    return String(found.id);
  }

  /**
   * Creates a server from `spec`, or adopts the one that already carries the same identity labels (managed-by,
   * installation and `server-id`) and is not being deleted: every attempt first looks it up by those labels, so a
   * retry after a lost answer never creates a second server, and a server of another installation is never taken.
   * With `adoptExisting: false` there is no look-up: every attempt, retries included, asks for a new server, as a
   * native Pulumi plugin does (a testing aid; the engine adopts by itself). Returns the server as the create answer
   * (or the adopted server's listing) shows it, once the API accepted the creation. Throws InvalidRequestError when
   * the labels have no server id, no snapshot matches, or the name belongs to a server with another identity;
   * InsufficientCapacityError and QuotaExceededError as the API answers.
   */
  async createServer(spec: ServerCreateSpec, options: { adoptExisting?: boolean } = {}): Promise<ObservedServer> {
    const identity = identityLabels(spec.labels);
    if (!identity) throw new InvalidRequestError(`server '${spec.name}' has no '${LABEL.serverId}' label: creation could not be made idempotent`);
    const adoptExisting = options.adoptExisting ?? true;
    const adoptable = (servers: ObservedServer[]) => servers.filter((server) => server.status !== 'deleting').sort((a, b) => Number(a.providerId) - Number(b.providerId))[0];
    const imageId = await this.#resolveImage(spec.image);
    return withRetries(this.#retry, async () => {
      const existing = adoptExisting ? adoptable(await this.#listOnce(identity)) : undefined;
      if (existing) return existing;
      try {
        const answer = read(z.looseObject({ server: serverSchema, action: actionSchema }), await this.#request('POST', '/servers', createServerBody(spec, imageId)), 'POST /servers');
        return observed(answer.server);
      } catch (error) {
        if (!adoptExisting || !(error instanceof InvalidRequestError) || error.cloudCode !== 'uniqueness_error') throw error;
        const named = adoptable(await this.#listOnce(identity));
        if (named) return named;
        throw new InvalidRequestError(`the name '${spec.name}' is taken by a server without the labels ${labelSelector(identity)}`, { cause: error });
      }
    });
  }

  /**
   * The hourly price of every server type in every location it is sold in (`GET /pricing`), in the order the API
   * lists them: net of VAT, in the currency the API names.
   */
  async serverTypePrices(): Promise<ServerTypePrice[]> {
    const { pricing } = read(pricingSchema, await withRetries(this.#retry, () => this.#getCollection('/pricing')), 'GET /pricing');
    return pricing.server_types.flatMap((type) =>
      type.prices.map((price) => ({ serverType: type.name, location: price.location, hourly: Number(price.price_hourly.net), currency: pricing.currency })),
    );
  }

  /**
   * Observes server `providerId` and checks that it carries every label of `labels` and is not being deleted: the
   * server a resource adopts (see ServerDeclaration.adopt). Throws InvalidRequestError when it carries other labels
   * (never another installation's server), ServerNotFoundError when it is gone.
   */
  async adoptServer(providerId: string, labels: Labels): Promise<ObservedServer> {
    const server = await this.observe(providerId);
    const wrong = Object.entries(labels).filter(([key, value]) => server.labels[key] !== value);
    if (wrong.length > 0 || server.status === 'deleting') {
      throw new InvalidRequestError(`server ${providerId} cannot be adopted: ${server.status === 'deleting' ? 'it is being deleted' : `it does not carry ${wrong.map(([key, value]) => `${key}=${value}`).join(', ')}`}`);
    }
    return server;
  }

  /**
   * Polls action `actionId` (`GET /actions/{id}`) until it finishes. Throws the action's error as a typed error
   * when it failed, TransientProviderError when it still runs after `timeoutMs`.
   */
  async waitForAction(actionId: number, timeoutMs: number): Promise<void> {
    const deadline = this.#now() + timeoutMs;
    for (;;) {
      const path = `/actions/${actionId}`;
      const { action } = read(z.looseObject({ action: actionSchema }), await withRetries(this.#retry, () => this.#request('GET', path)), `GET ${path}`);
      if (action.status === 'success') return;
      if (action.status === 'error') throw actionError(action);
      if (this.#now() >= deadline) throw new TransientProviderError(`action ${actionId} (${action.command}) still runs after ${timeoutMs} ms`);
      await this.#retry.sleep(this.#actionPollMs);
    }
  }

  /**
   * {@inheritDoc ServerApi.delete} With `shutdownBeforeDelete`, a running server is first shut down gracefully,
   * waited for up to the shutdown timeout (after which, or when the shutdown fails, it is deleted anyway). Returns
   * once the API accepted the deletion; a server that is already gone counts as deleted, and a server already
   * being deleted is left to it.
   */
  async delete(providerId: string): Promise<void> {
    const path = this.#serverPath(providerId);
    try {
      if (this.#shutdownBeforeDelete) {
        const server = await withRetries(this.#retry, () => this.#observeOnce(providerId));
        if (server.status === 'deleting') return;
        if (server.status === 'running') {
          const body = await withRetries(this.#retry, () => this.#request('POST', `${path}/actions/shutdown`));
          const { action } = read(z.looseObject({ action: actionSchema }), body, `POST ${path}/actions/shutdown`);
          await this.waitForAction(action.id, this.#shutdownTimeoutMs).catch((error: unknown) => {
            if (error instanceof ServerNotFoundError) throw error;
          });
        }
      }
      await withRetries(this.#retry, () => this.#request('DELETE', path));
    } catch (error) {
      if (!(error instanceof ServerNotFoundError)) throw error;
    }
  }
}
