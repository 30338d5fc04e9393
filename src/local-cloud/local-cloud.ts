// The local cloud: an HTTP service on 127.0.0.1 that behaves like a small IaaS with the Hetzner Cloud API's
// shapes. This module owns the socket and the order in which a request meets the cloud's machinery:
// rate limit, credentials, injected faults, the route, and a possibly lost response.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdminRequest } from './admin-routes.ts';
import { handleApiRequest, routeKey, type ApiRequest } from './api-routes.ts';
import { CloudStore } from './cloud-store.ts';
import { CloudApiError } from './errors.ts';
import { FaultInjector, type InjectedError } from './faults.ts';
import { inspectServer, type CloudInspection, type RequestStats } from './inspection.ts';
import { applySettingsPatch, resolveOptions, type CloudSettings, type LocalCloudOptions, type SettingsPatch } from './options.ts';
import { TokenBucket } from './rate-limiter.ts';

/** A running local cloud. */
export interface LocalCloud {
  /** Base URL of the cloud API, e.g. `http://127.0.0.1:40123/v1`. */
  readonly url: string;
  /** Base URL of the admin API (`/admin/state`, `/admin/settings`, `/admin/faults/...`, `/admin/servers/{id}`). */
  readonly adminUrl: string;
  readonly port: number;
  /** Every server now, with its true status, and the request counters. */
  inspect(): CloudInspection;
  /** The settings in force. */
  settings(): CloudSettings;
  /** Changes settings (delays, capacity, quota, faults); throws LocalCloudConfigError for bad values. */
  updateSettings(patch: SettingsPatch): CloudSettings;
  /** Answers the next `error.count` matching API requests with that error, before anything is done. */
  failNext(error: InjectedError): void;
  /** Drops the responses of the next `count` successful POST/DELETE requests, after the action was taken. */
  loseNextResponses(count: number): void;
  /** Forgets pending one-shot faults. */
  clearPendingFaults(): void;
  /** Removes server `id` at once, as if deleted outside whatever manages it (a CloudApiError 404 when there is none). */
  removeServer(id: number): void;
  /** Stops listening and closes every connection; calling it again waits for the same stop. */
  stop(): Promise<void>;
}

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
      if (size > MAX_BODY_BYTES) return reject(new CloudApiError(400, 'json_error', 'request body too large'));
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new CloudApiError(400, 'json_error', 'request body is not valid JSON'));
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
 * Starts a local cloud listening on 127.0.0.1 (port `options.port`, default a kernel-chosen one). Validates the
 * options first (LocalCloudConfigError). Call `stop()` when done.
 */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const resolved = resolveOptions(options);
  let settings: CloudSettings = { delays: resolved.delays, capacity: resolved.capacity, quota: resolved.quota, faults: resolved.faults };
  const faults = new FaultInjector(settings.faults, resolved.seed);
  const store = new CloudStore({
    settings: () => settings,
    faults,
    now: resolved.now,
    snapshots: resolved.snapshots,
    serverTypes: resolved.serverTypes,
    locations: resolved.locations,
  });
  const bucket = new TokenBucket(resolved.rateLimit, resolved.now);
  const stats: RequestStats = { total: 0, byRoute: {}, rateLimited: 0, unauthorized: 0, injectedErrors: 0, lostResponses: 0 };
  const authorized = (request: IncomingMessage) => resolved.token === undefined || request.headers.authorization === `Bearer ${resolved.token}`;

  const control = {
    inspect: (): CloudInspection => ({ servers: store.servers().map(inspectServer), stats: structuredClone(stats) }),
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

  async function handleApi(request: IncomingMessage, response: ServerResponse, apiRequest: ApiRequest): Promise<void> {
    stats.total += 1;
    const rate = bucket.take();
    const rateHeaders = {
      'ratelimit-limit': String(rate.limit),
      'ratelimit-remaining': String(rate.remaining),
      'ratelimit-reset': String(rate.resetAt),
    };
    if (!rate.allowed) {
      stats.rateLimited += 1;
      const error = new CloudApiError(429, 'rate_limit_exceeded', 'rate limit exceeded');
      return send(response, 429, error.body(), { ...rateHeaders, 'retry-after': String(rate.retryAfterSeconds) });
    }
    if (!authorized(request)) {
      stats.unauthorized += 1;
      return send(response, 401, new CloudApiError(401, 'unauthorized', 'unable to authenticate').body(), rateHeaders);
    }
    const injected = faults.errorFor(apiRequest.method, apiRequest.path);
    if (injected) {
      stats.injectedErrors += 1;
      const retryAfter: Record<string, string> = injected.retryAfterSeconds === undefined ? {} : { 'retry-after': String(injected.retryAfterSeconds) };
      return send(response, injected.status, new CloudApiError(injected.status, injected.code, 'injected fault').body(), { ...rateHeaders, ...retryAfter });
    }
    const route = routeKey(apiRequest.method, apiRequest.path);
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    const answer = handleApiRequest(store, apiRequest);
    if (MUTATING.has(apiRequest.method) && faults.losesResponse()) {
      stats.lostResponses += 1;
      response.socket?.destroy();
      return;
    }
    send(response, answer.status, answer.body, rateHeaders);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = (request.method ?? 'GET').toUpperCase();
    try {
      const body = await readBody(request);
      if (url.pathname === '/v1' || url.pathname.startsWith('/v1/')) {
        await handleApi(request, response, { method, path: url.pathname.slice(3), query: url.searchParams, body });
      } else if (url.pathname.startsWith('/admin/')) {
        if (!authorized(request)) return send(response, 401, new CloudApiError(401, 'unauthorized', 'unable to authenticate').body());
        const answer = handleAdminRequest(control, { method, path: url.pathname.slice(6), query: url.searchParams, body });
        send(response, answer.status, answer.body);
      } else {
        throw new CloudApiError(404, 'route_not_found', `no route for ${method} ${url.pathname} (the API is under /v1)`);
      }
    } catch (error) {
      const answer = error instanceof CloudApiError ? error : new CloudApiError(500, 'server_error', 'internal error');
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
