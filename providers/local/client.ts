// The API side of the local cloud provider: observe, list, create, delete, stop and reboot servers through the
// cloud's Hetzner-shaped HTTP API, with retries and typed errors. The Pulumi side (resource.ts) loads this module
// inside the engine's dynamic-provider plugin, so it imports nothing but the contract, zod and its own helpers.
import { z } from 'zod';
import {
  InvalidRequestError,
  LABEL,
  mapCloudStatus,
  ServerNotFoundError,
  UnexpectedResponseError,
  type Labels,
  type ObservedServer,
  type ServerApi,
} from '../contract.ts';
import { withRetries, type RetryPolicy } from '../retry.ts';
import { requestOnce, type HttpSettings } from './http.ts';
import { LOCAL_CLOUD_STATUSES } from './status.ts';

export { markProviderError, ServerNotFoundError } from '../contract.ts';

/** How to reach a local cloud and how hard to try. */
export interface LocalCloudClientOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:40123/v1` (what `dynamic-servers local-cloud` prints). */
  endpoint: string;
  /** API token, when the cloud requires one. */
  token?: string;
  /** Retries after a transient failure (default 4). */
  retries?: number;
  /** Base of the exponential backoff in milliseconds (default 250). */
  backoffMs?: number;
  /** Longest backoff in milliseconds (default 5000). */
  maxBackoffMs?: number;
  /** A longer Retry-After is not waited for (default 60000 ms). */
  maxRetryAfterMs?: number;
  /** Milliseconds before a request is abandoned (default 15000). */
  requestTimeoutMs?: number;
  /** How to wait between attempts (tests pass one that records the waits). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** What a server is created from. */
export interface CreateServerSpec {
  name: string;
  /** The cloud's server size (`server_type` in the API). */
  size: string;
  /** The snapshot's id or description (`image` in the API). */
  snapshot: string;
  location?: string;
  /** Must contain the `server-id` label: creation is idempotent by it. */
  labels: Labels;
}

const serverSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  status: z.string(),
  created: z.string(),
  labels: z.record(z.string(), z.string()),
  public_net: z.looseObject({ ipv4: z.looseObject({ ip: z.string() }).nullable().optional() }).optional(),
});
const oneServer = z.looseObject({ server: serverSchema });
const serverPage = z.looseObject({
  servers: z.array(serverSchema),
  meta: z.looseObject({ pagination: z.looseObject({ next_page: z.number().int().nullable() }) }),
});

const PROVIDER_ID = /^[1-9]\d{0,15}$/;
const PER_PAGE = 50;

function read<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new UnexpectedResponseError(`${what}: the answer does not have the expected shape (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}

function observed(server: z.infer<typeof serverSchema>): ObservedServer {
  return {
    providerId: String(server.id),
    name: server.name,
    status: mapCloudStatus(LOCAL_CLOUD_STATUSES, server.status),
    cloudStatus: server.status,
    labels: server.labels,
    ...(server.public_net?.ipv4?.ip ? { ipv4: server.public_net.ipv4.ip } : {}),
    createdAt: server.created,
  };
}

/** A Hetzner-style label selector (`k1=v1,k2=v2`) for servers carrying all of `labels`. */
export function labelSelector(labels: Labels): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** The API client of the local cloud. Every method throws ProviderError subclasses only. */
export class LocalCloudClient implements ServerApi {
  readonly #http: HttpSettings;
  readonly #retry: RetryPolicy;

  /** Throws InvalidRequestError when the endpoint is not an http(s) URL. */
  constructor(options: LocalCloudClientOptions) {
    let endpoint: URL;
    try {
      endpoint = new URL(options.endpoint);
    } catch {
      throw new InvalidRequestError(`the local cloud endpoint '${options.endpoint}' is not a URL`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new InvalidRequestError(`the local cloud endpoint '${options.endpoint}' is not an http(s) URL`);
    }
    this.#http = { endpoint: endpoint.href.replace(/\/+$/, ''), token: options.token, timeoutMs: options.requestTimeoutMs ?? 15_000 };
    this.#retry = {
      retries: options.retries ?? 4,
      backoffMs: options.backoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 5000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: Math.random,
    };
  }

  #serverPath(providerId: string): string {
    if (typeof providerId !== 'string' || !PROVIDER_ID.test(providerId)) {
      throw new InvalidRequestError(`'${String(providerId)}' is not a local cloud server id (a positive integer)`);
    }
    return `/servers/${providerId}`;
  }

  /** One attempt at observing server `providerId` (no retries). */
  async #observeOnce(providerId: string): Promise<ObservedServer> {
    const path = this.#serverPath(providerId);
    return observed(read(oneServer, await requestOnce(this.#http, 'GET', path), `GET ${path}`).server);
  }

  /** One attempt at listing every page of servers matching `labels`. */
  async #listOnce(labels: Labels, name?: string): Promise<ObservedServer[]> {
    const servers: ObservedServer[] = [];
    for (let page: number | null = 1; page !== null; ) {
      const query = new URLSearchParams({ label_selector: labelSelector(labels), page: String(page), per_page: String(PER_PAGE) });
      if (name !== undefined) query.set('name', name);
      let body: unknown;
      try {
        body = await requestOnce(this.#http, 'GET', `/servers?${query}`);
      } catch (error) {
        // A list is never "not found"; a 404 here means the endpoint is wrong, not that servers are gone.
        if (error instanceof ServerNotFoundError) throw new UnexpectedResponseError(`listing servers answered not found: is ${this.#http.endpoint} the API's base URL?`, { cause: error });
        throw error;
      }
      const answer = read(serverPage, body, 'GET /servers');
      servers.push(...answer.servers.map(observed));
      page = answer.meta.pagination.next_page;
    }
    return servers;
  }

  /** {@inheritDoc ServerApi.observe} */
  observe(providerId: string): Promise<ObservedServer> {
    return withRetries(this.#retry, () => this.#observeOnce(providerId));
  }

  /** {@inheritDoc ServerApi.list} */
  list(labels: Labels): Promise<ObservedServer[]> {
    return withRetries(this.#retry, () => this.#listOnce(labels));
  }

  /**
   * Creates a server, or adopts the one that already carries the same `server-id` label (not being deleted):
   * every attempt first looks the server up by that label, so a retry after a lost answer never creates a second
   * server. Returns the server as observed. Throws InvalidRequestError when `spec.labels` has no server id, or
   * when the name belongs to a server with another server id.
   */
  async createServer(spec: CreateServerSpec): Promise<ObservedServer> {
    const serverId = spec.labels?.[LABEL.serverId];
    if (!serverId) throw new InvalidRequestError(`server '${spec.name}' has no '${LABEL.serverId}' label: creation could not be made idempotent`);
    const managedBy = spec.labels[LABEL.managedBy];
    const identity: Labels = { ...(managedBy === undefined ? {} : { [LABEL.managedBy]: managedBy }), [LABEL.serverId]: serverId };
    const adoptable = (servers: ObservedServer[]) => servers.filter((server) => server.status !== 'deleting').sort((a, b) => Number(a.providerId) - Number(b.providerId))[0];
    return withRetries(this.#retry, async () => {
      const existing = adoptable(await this.#listOnce(identity));
      if (existing) return existing;
      const body = { name: spec.name, server_type: spec.size, image: spec.snapshot, location: spec.location, labels: spec.labels };
      try {
        return observed(read(oneServer, await requestOnce(this.#http, 'POST', '/servers', body), 'POST /servers').server);
      } catch (error) {
        if (!(error instanceof InvalidRequestError) || error.cloudCode !== 'uniqueness_error') throw error;
        const named = adoptable(await this.#listOnce(identity));
        if (named) return named;
        throw new InvalidRequestError(`the name '${spec.name}' is taken by a server without the label ${LABEL.serverId}=${serverId}`, { cause: error });
      }
    });
  }

  /** Asks the cloud to delete server `providerId`. Returns once it accepted; a server that is already gone counts as deleted. */
  /** ServerApi.delete: the same as deleteServer. */
  delete(providerId: string): Promise<void> {
    return this.deleteServer(providerId);
  }

  async deleteServer(providerId: string): Promise<void> {
    const path = this.#serverPath(providerId);
    await withRetries(this.#retry, async () => {
      try {
        await requestOnce(this.#http, 'DELETE', path);
      } catch (error) {
        if (!(error instanceof ServerNotFoundError)) throw error;
      }
    });
  }

  /**
   * {@inheritDoc ServerApi.stop} A graceful shutdown; a server already stopping or off is left as it is, so a
   * retry after a lost answer does no harm. Throws InvalidRequestError for a server being deleted.
   */
  async stop(providerId: string): Promise<void> {
    const path = `${this.#serverPath(providerId)}/actions/shutdown`;
    await withRetries(this.#retry, async () => {
      const server = await this.#observeOnce(providerId);
      if (server.status === 'stopping' || server.status === 'stopped') return;
      if (server.status === 'deleting') throw new InvalidRequestError(`server ${providerId} is being deleted; it cannot be stopped`);
      await requestOnce(this.#http, 'POST', path);
    });
  }

  /**
   * {@inheritDoc ServerApi.reboot} A retry first checks whether the earlier attempt's reboot is under way, so a
   * lost answer does not reboot twice while the first reboot runs.
   */
  async reboot(providerId: string): Promise<void> {
    const path = `${this.#serverPath(providerId)}/actions/reboot`;
    await withRetries(this.#retry, async (attempt) => {
      if (attempt > 0 && (await this.#observeOnce(providerId)).status === 'rebooting') return;
      await requestOnce(this.#http, 'POST', path);
    });
  }

  /** Powers on a server that is off (the API's `poweron`); a running one is left as it is. */
  async powerOn(providerId: string): Promise<void> {
    const path = `${this.#serverPath(providerId)}/actions/poweron`;
    await withRetries(this.#retry, () => requestOnce(this.#http, 'POST', path));
  }
}
