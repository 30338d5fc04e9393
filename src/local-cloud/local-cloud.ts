// The local cloud: an HTTP service on 127.0.0.1 that behaves like a small IaaS with the Hetzner Cloud API's
// shapes. This module owns the socket and the order in which a request meets the cloud's machinery:
// rate limit, credentials, injected faults, the route, and a possibly lost response.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdminRequest } from './admin-routes.ts';
import { handleApiRequest, routeKey, type ApiRequest, type ApiResponse } from './api-routes.ts';
import { buildCatalogue } from './catalogue.ts';
import { CloudStore, type StatusEntry } from './cloud-store.ts';
import { CloudApiError } from './errors.ts';
import { FaultInjector, type InjectedError } from './faults.ts';
import { inspectServer, serverIdsOf, type CloudInspection, type RecordedRequest, type RequestStats } from './inspection.ts';
import { applySettingsPatch, resolveOptions, type CloudSettings, type LocalCloudOptions, type SettingsPatch } from './options.ts';
import { TokenBucket } from './rate-limiter.ts';

/** A running local cloud. */
export interface LocalCloud {
  /** Base URL of the cloud API, e.g. `http://127.0.0.1:40123/v1`. */
  readonly url: string;
  /** Base URL of the admin API (`/admin/state`, `/admin/settings`, `/admin/faults/...`, `/admin/servers/{id}`, ...). */
  readonly adminUrl: string;
  readonly port: number;
  /** Every server now, with its true status, the images, and the request counters. */
  inspect(): CloudInspection;
  /** The last requests the API answered (at most 10000), oldest first. */
  requests(): RecordedRequest[];
  /**
   * Every status server `serverId` entered, oldest first (its true statuses, `rebooting` included, and `gone`
   * once it no longer exists): what it went through, however short each step was. Empty for an unknown id.
   */
  statusHistory(serverId: number): StatusEntry[];
  /** The settings in force. */
  settings(): CloudSettings;
  /** Changes settings (delays, capacity, quota, sizes sold out, faults); throws LocalCloudConfigError for bad values. */
  updateSettings(patch: SettingsPatch): CloudSettings;
  /** Answers the next `error.count` matching API requests with that error, before anything is done. */
  failNext(error: InjectedError): void;
  /** Drops the responses of the next `count` successful POST/PUT/DELETE requests, after the action was taken. */
  loseNextResponses(count: number): void;
  /** Forgets pending one-shot faults. */
  clearPendingFaults(): void;
  /** Sets the requests left in the rate-limit bucket (0 exhausts it: the next request is answered 429). */
  setRateLimitRemaining(remaining: number): void;
  /** Puts server `serverId` into `status` for good (`migrating`, `unknown`, ...); throws its 404 when it does not exist. */
  setServerStatus(serverId: number, status: string): void;
  /** Removes server `id` at once, as if deleted outside whatever manages it (a CloudApiError 404 when there is none). */
  removeServer(id: number): void;
  /** Stops listening and closes every connection; calling it again waits for the same stop. */
  stop(): Promise<void>;
}

/** How many answered requests the request log keeps. */
const REQUEST_LOG_SIZE = 10_000;
const MAX_BODY_BYTES = 1024 * 1024;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function readBody(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(new CloudApiError('json_error', 'request body too large'));
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new CloudApiError('json_error', 'request body is not valid JSON'));
      }
    });
  });
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  response.end(text);
}

/**
 * The `Link` header of a list answer (Hetzner sends one with `prev`, `next` and `last` pages), from its
 * `meta.pagination`; none for other answers.
 */
function linkHeader(request: ApiRequest, answer: ApiResponse, requestPath: string): Record<string, string> {
  const pagination = (answer.body as { meta?: { pagination?: { previous_page: number | null; next_page: number | null; last_page: number | null; per_page: number } } }).meta?.pagination;
  if (!pagination) return {};
  const link = (page: number | null, rel: string) => {
    if (page === null) return undefined;
    const url = new URL(requestPath, 'http://127.0.0.1');
    url.searchParams.set('page', String(page));
    url.searchParams.set('per_page', String(pagination.per_page));
    return `<${request.origin}${url.pathname}${url.search}>; rel="${rel}"`;
  };
  const links = [link(pagination.previous_page, 'prev'), link(pagination.next_page, 'next'), link(pagination.last_page, 'last')].filter(Boolean);
  return links.length === 0 ? {} : { link: links.join(', ') };
}

/**
 * Starts a local cloud listening on 127.0.0.1 (port `options.port`, default a kernel-chosen one). Validates the
 * options first (LocalCloudConfigError). Call `stop()` when done.
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const resolved = resolveOptions(options);
  let settings: CloudSettings = { delays: resolved.delays, capacity: resolved.capacity, quota: resolved.quota, soldOut: resolved.soldOut, faults: resolved.faults };
  const faults = new FaultInjector(settings.faults, resolved.seed);
  const store = new CloudStore({
    settings: () => settings,
    faults,
    now: resolved.now,
    catalogue: buildCatalogue(resolved.serverTypes, resolved.locations),
    images: resolved.images,
    uniqueNames: resolved.uniqueNames,
  });
  const bucket = new TokenBucket(resolved.rateLimit, resolved.now);
  const stats: RequestStats = { total: 0, byRoute: {}, rateLimited: 0, unauthorized: 0, injectedErrors: 0, lostResponses: 0 };
  const log: RecordedRequest[] = [];
  /** The name of the token `request` carries; null when the cloud needs none; undefined when it is refused. */
  const holderOf = (request: IncomingMessage): string | null | undefined => {
    if (resolved.tokens.size === 0) return null;
    const header = request.headers.authorization;
    return header?.startsWith('Bearer ') ? resolved.tokens.get(header.slice('Bearer '.length)) : undefined;
  };
  const authorized = (request: IncomingMessage) => holderOf(request) !== undefined;
  /** Each server of `ids` with its labels now (null once it is gone). */
  const serversNow = (ids: readonly number[]) =>
    ids.map((id) => {
      try {
        return { id, labels: { ...store.server(id).labels } };
      } catch {
        return { id, labels: null };
      }
    });

  const control = {
    inspect: (): CloudInspection => ({ servers: store.servers().map(inspectServer), images: structuredClone([...store.images]), stats: structuredClone(stats) }),
    requests: () => structuredClone(log),
    statusHistory: (serverId: number) => store.statusHistory(serverId),
    setRateLimitRemaining: (remaining: number) => bucket.setRemaining(remaining),
    setServerStatus: (serverId: number, status: string) => void store.forceStatus(serverId, status),
    settings: () => structuredClone(settings),
    updateSettings(patch: SettingsPatch | unknown): CloudSettings {
      settings = applySettingsPatch(settings, patch);
      faults.settings = settings.faults;
      return structuredClone(settings);
    },
    failNext: (error: InjectedError) => faults.failNext(error),
    loseNextResponses: (count: number) => faults.loseNextResponses(count),
    clearPendingFaults: () => faults.clearPending(),
    removeServer: (id: number) => store.remove(id),
  };

  function record(entry: Omit<RecordedRequest, 'at'>): void {
    log.push({ at: Date.now(), ...entry });
    if (log.length > REQUEST_LOG_SIZE) log.splice(0, log.length - REQUEST_LOG_SIZE);
  }

  /** Answers one `/v1` request: rate limit, credentials, injected faults, the route, and a possibly lost response. */
  function handleApi(request: IncomingMessage, response: ServerResponse, apiRequest: ApiRequest, requestPath: string, bodyError: CloudApiError | undefined): void {
    stats.total += 1;
    const rate = bucket.take();
    const headers: Record<string, string> = {
      'ratelimit-limit': String(rate.limit),
      'ratelimit-remaining': String(rate.remaining),
      'ratelimit-reset': String(rate.resetAt),
    };
    // What was asked for: the body of a request that changes something (a create's size and location, ...).
    const asked = MUTATING.has(apiRequest.method) && apiRequest.body !== undefined ? { body: structuredClone(apiRequest.body) } : {};
    const holder = holderOf(request);
    const who = holder ? { token: holder } : {};
    const fail = (error: CloudApiError, extraHeaders: Record<string, string> = {}) => {
      record({ method: apiRequest.method, path: requestPath, status: error.status, code: error.code, ...who, servers: serversNow(serverIdsOf(apiRequest.path, undefined)), ...asked });
      send(response, error.status, error.body(), { ...headers, ...extraHeaders });
    };
    if (!rate.allowed) {
      stats.rateLimited += 1;
      return fail(new CloudApiError('rate_limit_exceeded', `limit of ${rate.limit} requests reached`));
    }
    if (!authorized(request)) {
      stats.unauthorized += 1;
      return fail(new CloudApiError('unauthorized', 'unable to authenticate'));
    }
    const injected = faults.errorFor(apiRequest.method, apiRequest.path);
    if (injected) {
      stats.injectedErrors += 1;
      const retryAfter: Record<string, string> = injected.retryAfterSeconds === undefined ? {} : { 'retry-after': String(injected.retryAfterSeconds) };
      return fail(new CloudApiError(injected.code, injected.message ?? 'injected fault', {}, injected.status), retryAfter);
    }
    if (bodyError) return fail(bodyError);
    const route = routeKey(apiRequest.method, apiRequest.path);
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    let answer: ApiResponse;
    try {
      answer = handleApiRequest(store, apiRequest);
    } catch (error) {
      return fail(error instanceof CloudApiError ? error : new CloudApiError('server_error', 'internal error'));
    }
    const servers = serversNow(serverIdsOf(apiRequest.path, answer.body));
    if (MUTATING.has(apiRequest.method) && faults.losesResponse()) {
      stats.lostResponses += 1;
      record({ method: apiRequest.method, path: requestPath, status: answer.status, lost: true, ...who, servers, ...asked });
      response.socket?.destroy();
      return;
    }
    record({ method: apiRequest.method, path: requestPath, status: answer.status, ...who, servers, ...asked });
    send(response, answer.status, answer.body, { ...headers, ...linkHeader(apiRequest, answer, requestPath) });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = (request.method ?? 'GET').toUpperCase();
    try {
      let body: unknown;
      let bodyError: CloudApiError | undefined;
      try {
        body = await readBody(request);
      } catch (error) {
        if (!(error instanceof CloudApiError)) throw error;
        bodyError = error;
      }
      if (url.pathname === '/v1' || url.pathname.startsWith('/v1/')) {
        handleApi(request, response, { method, path: url.pathname.slice(3), query: url.searchParams, body, origin: `http://${request.headers.host ?? `127.0.0.1:${resolved.port}`}` }, url.pathname + url.search, bodyError);
      } else if (url.pathname.startsWith('/admin/')) {
        if (!authorized(request)) return send(response, 401, new CloudApiError('unauthorized', 'unable to authenticate').body());
        if (bodyError) throw bodyError;
        const answer = handleAdminRequest(control, { method, path: url.pathname.slice(6), query: url.searchParams, body, origin: '' });
        send(response, answer.status, answer.body);
      } else {
        throw new CloudApiError('route_not_found', `no route for ${method} ${url.pathname} (the API is under /v1)`);
      }
    } catch (error) {
      const answer = error instanceof CloudApiError ? error : new CloudApiError('server_error', 'internal error');
      if (!response.headersSent && !response.destroyed) send(response, answer.status, answer.body());
    }
  }

  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    adminUrl: `http://127.0.0.1:${port}/admin`,
    port,
    ...control,
    stop: () =>
      (stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      })),
  };
}
