// The API side of the Hetzner Cloud provider: observe, list, stop and reboot servers through the Hetzner Cloud
// API, plus the idempotent create and graceful delete that drive servers without `pulumi up` (the conformance
// suite's API steps, clean-ups). Paced by the API's rate limit, retried, every failure a typed ProviderError.
import { z } from 'zod';
import {
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
import { errorFromHcloudAnswer } from './errors.ts';
import { withRetries, type RetryPolicy } from '../retry.ts';
import { requestOnce, type HcloudHttp } from './http.ts';
import { RateLimitGate } from './rate-limit.ts';
import { HCLOUD_STATUSES, RUNNING_ACTION_STATUSES } from './status.ts';
import { labelSelector, type HcloudSnapshotRef, type HcloudTemplate } from './template.ts';

/** The public Hetzner Cloud API. */
export const HCLOUD_ENDPOINT = 'https://api.hetzner.cloud/v1';

/** How to reach the Hetzner Cloud API and how hard to try. */
export interface HcloudApiOptions {
  /** Base URL of the API (default the public API; tests point it at a test server). */
  endpoint?: string;
  /** API token (default `$HCLOUD_TOKEN`). Only ever sent as the Authorization header. */
  token?: string;
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
  /** How long a graceful shutdown before deletion may take before the server is deleted anyway (default 60000 ms). */
  shutdownTimeoutMs?: number;
  /** How to wait (tests pass one that records the waits). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** The clock the rate-limit arithmetic uses (default Date.now). */
  now?: () => number;
}

/** What a server is created from through the API (the same fields the Pulumi side sends). */
export interface HcloudServerSpec {
  name: string;
  /** Must contain the `server-id` label: creation is idempotent by it. */
  labels: Labels;
  template: HcloudTemplate;
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
const serverPage = z.looseObject({ servers: z.array(serverSchema), meta: pagination });
const actionSchema = z.looseObject({
  id: z.number().int(),
  command: z.string(),
  status: z.enum(['running', 'success', 'error']),
  error: z.looseObject({ code: z.string(), message: z.string() }).nullable().optional(),
});
type Action = z.infer<typeof actionSchema>;
const actionPage = z.looseObject({ actions: z.array(actionSchema) });
const imagePage = z.looseObject({ images: z.array(z.looseObject({ id: z.number().int(), created: z.string() })) });

const PROVIDER_ID = /^[1-9]\d{0,15}$/;
const PER_PAGE = 50;

function read<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new UnexpectedResponseError(`${what}: the answer does not have the expected shape (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}

function observed(server: ServerBody, status: ObservedStatus = mapCloudStatus(HCLOUD_STATUSES, server.status)): ObservedServer {
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
export function createServerBody(spec: HcloudServerSpec, imageId: string): Record<string, unknown> {
  const { template } = spec;
  return {
    name: spec.name,
    server_type: template.serverType,
    image: imageId,
    location: template.location,
    start_after_create: true,
    labels: { ...template.labels, ...spec.labels },
    ...(template.sshKeys ? { ssh_keys: template.sshKeys } : {}),
    ...(template.userData === undefined ? {} : { user_data: template.userData }),
    ...(template.firewallIds ? { firewalls: template.firewallIds.map((firewall) => ({ firewall })) } : {}),
    ...(template.networks ? { networks: template.networks.map((network) => network.networkId) } : {}),
    ...(template.placementGroupId === undefined ? {} : { placement_group: template.placementGroupId }),
    public_net: { enable_ipv4: template.publicIpv4 ?? true, enable_ipv6: template.publicIpv6 ?? true },
  };
}

/** The Hetzner Cloud API client. Every method throws ProviderError subclasses only. */
export class HcloudApiClient implements ServerApi {
  readonly #endpoint: string;
  readonly #token: string | undefined;
  readonly #retry: RetryPolicy;
  readonly #gate = new RateLimitGate();
  readonly #timeoutMs: number;
  readonly #watchActions: boolean;
  readonly #actionPollMs: number;
  readonly #shutdownTimeoutMs: number;
  readonly #now: () => number;

  /** Throws InvalidRequestError when the endpoint is not an http(s) URL. The token is checked when first needed. */
  constructor(options: HcloudApiOptions = {}) {
    const raw = options.endpoint ?? HCLOUD_ENDPOINT;
    let endpoint: URL;
    try {
      endpoint = new URL(raw);
    } catch {
      throw new InvalidRequestError(`the Hetzner Cloud endpoint '${raw}' is not a URL`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new InvalidRequestError(`the Hetzner Cloud endpoint '${raw}' is not an http(s) URL`);
    this.#endpoint = endpoint.href.replace(/\/+$/, '');
    this.#token = options.token ?? (process.env.HCLOUD_TOKEN || undefined);
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.#retry = {
      retries: options.retries ?? 4,
      backoffMs: options.backoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      sleep,
      random: Math.random,
    };
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#watchActions = options.watchActions ?? true;
    this.#actionPollMs = options.actionPollMs ?? 1000;
    this.#shutdownTimeoutMs = options.shutdownTimeoutMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  get #http(): HcloudHttp {
    if (!this.#token) throw new ProviderAuthError('no Hetzner Cloud API token: set HCLOUD_TOKEN or pass a token to the hcloud provider');
    return { endpoint: this.#endpoint, token: this.#token, timeoutMs: this.#timeoutMs, gate: this.#gate, sleep: this.#retry.sleep, now: this.#now };
  }

  #request(method: string, path: string, body?: unknown): Promise<unknown> {
    return requestOnce(this.#http, method, path, body);
  }

  #serverPath(providerId: string): string {
    if (typeof providerId !== 'string' || !PROVIDER_ID.test(providerId)) {
      throw new InvalidRequestError(`'${String(providerId)}' is not a Hetzner Cloud server id (a positive integer)`);
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
    const servers: ObservedServer[] = [];
    for (let page: number | null = 1; page !== null; ) {
      const query: URLSearchParams = new URLSearchParams({ label_selector: labelSelector(labels), page: String(page), per_page: String(PER_PAGE) });
      const answer: z.infer<typeof serverPage> = read(serverPage, await this.#getCollection(`/servers?${query}`), 'GET /servers');
      servers.push(...answer.servers.map((server) => observed(server)));
      page = answer.meta.pagination.next_page;
    }
    return servers;
  }

  /** {@inheritDoc ServerApi.observe} A running server with a running reboot action is `rebooting`. */
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
   * The id of the image `snapshot` names: its id, or the newest available snapshot carrying all the selector's
   * labels. Throws InvalidRequestError when no snapshot matches.
   */
  async resolveSnapshot(snapshot: HcloudSnapshotRef): Promise<string> {
    if ('id' in snapshot) return snapshot.id;
    const query = new URLSearchParams({ type: 'snapshot', status: 'available', label_selector: labelSelector(snapshot.selector), sort: 'created:desc', per_page: '1' });
    const { images } = read(imagePage, await withRetries(this.#retry, () => this.#getCollection(`/images?${query}`)), 'GET /images');
    const newest = images[0];
    if (!newest) throw new InvalidRequestError(`no available snapshot carries the labels ${labelSelector(snapshot.selector)}`);
    return String(newest.id);
  }

  /**
   * Creates a server from `spec`, or adopts the one that already carries the same `server-id` label and is not
   * being deleted: every attempt first looks it up by that label, so a retry after a lost answer never creates a
   * second server. Returns once the API accepted the creation. Throws InvalidRequestError when the labels have
   * no server id or the name belongs to a server with another server id; InsufficientCapacityError and
   * QuotaExceededError as the API answers.
   */
  async createServer(spec: HcloudServerSpec): Promise<ObservedServer> {
    const serverId = spec.labels[LABEL.serverId];
    if (!serverId) throw new InvalidRequestError(`server '${spec.name}' has no '${LABEL.serverId}' label: creation could not be made idempotent`);
    const managedBy = spec.labels[LABEL.managedBy];
    const identity: Labels = { ...(managedBy === undefined ? {} : { [LABEL.managedBy]: managedBy }), [LABEL.serverId]: serverId };
    const adoptable = (servers: ObservedServer[]) => servers.filter((server) => server.status !== 'deleting').sort((a, b) => Number(a.providerId) - Number(b.providerId))[0];
    const imageId = await this.resolveSnapshot(spec.template.snapshot);
    return withRetries(this.#retry, async () => {
      const existing = adoptable(await this.#listOnce(identity));
      if (existing) return existing;
      try {
        const answer = read(z.looseObject({ server: serverSchema, action: actionSchema }), await this.#request('POST', '/servers', createServerBody(spec, imageId)), 'POST /servers');
        return observed(answer.server);
      } catch (error) {
        if (!(error instanceof InvalidRequestError) || error.cloudCode !== 'uniqueness_error') throw error;
        const named = adoptable(await this.#listOnce(identity));
        if (named) return named;
        throw new InvalidRequestError(`the name '${spec.name}' is taken by a server without the label ${LABEL.serverId}=${serverId}`, { cause: error });
      }
    });
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

  /** {@inheritDoc ServerApi.delete} The graceful deleteServer. */
  delete(providerId: string): Promise<void> {
    return this.deleteServer(providerId);
  }

  /**
   * Deletes server `providerId`: first a graceful shutdown of a running server, waited for up to the shutdown
   * timeout (after which, or when the shutdown fails, the server is deleted anyway), then `DELETE`. Returns once
   * the API accepted the deletion; a server that is already gone or being deleted counts as deleted.
   */
  async deleteServer(providerId: string, options: { graceful?: boolean } = {}): Promise<void> {
    const path = this.#serverPath(providerId);
    try {
      const server = await withRetries(this.#retry, () => this.#observeOnce(providerId));
      if (server.status === 'deleting') return;
      if ((options.graceful ?? true) && server.status === 'running') {
        const body = await withRetries(this.#retry, () => this.#request('POST', `${path}/actions/shutdown`));
        const { action } = read(z.looseObject({ action: actionSchema }), body, `POST ${path}/actions/shutdown`);
        await this.waitForAction(action.id, this.#shutdownTimeoutMs).catch((error: unknown) => {
          if (error instanceof ServerNotFoundError) throw error;
        });
      }
      await withRetries(this.#retry, () => this.#request('DELETE', path));
    } catch (error) {
      if (!(error instanceof ServerNotFoundError)) throw error;
    }
  }
}

/** The typed error of a failed action (its `error.code` read like an API error code). */
function actionError(action: Action): ProviderError {
  const code = action.error?.code ?? 'action_failed';
  return errorFromHcloudAnswer(`action ${action.id} (${action.command})`, 0, { error: { code, message: action.error?.message ?? 'failed' } }, undefined);
}
