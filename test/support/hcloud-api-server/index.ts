// A Hetzner Cloud API test server on 127.0.0.1 that follows the public API documentation: bearer-token auth
// (401 `unauthorized`), the documented server statuses, actions (POST answers `{ action }`, `GET /actions/{id}`
// to poll), pagination (`meta.pagination`), the rate limit (RateLimit-* headers on every answer, 429
// `rate_limit_exceeded`) and error bodies `{ error: { code, message, details } }`. Tests start it, steer it and
// stop it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudState, type CloudStateOptions, type HcloudServerStatus } from './cloud-state.ts';
import { ApiError } from './errors.ts';
import { RateLimiter } from './rate-limit.ts';
import { route } from './routes.ts';

export { HCLOUD_SERVER_STATUSES, type CommandDurations, type HcloudServerStatus, type ServerCommand } from './cloud-state.ts';
export { ERROR_STATUS } from './errors.ts';

/** How the test server starts. */
export interface HcloudApiServerOptions extends CloudStateOptions {
  /** The only token accepted (`Authorization: Bearer <token>`). */
  token: string;
  /** Requests in a full budget (default 3600) and refill per second (default limit / 3600). */
  rateLimit?: { limit: number; refillPerSecond?: number };
}

/** One request the server answered. */
export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  code?: string;
}

/** A one-shot error: the next request matching `method` and `path` gets the error answer of `code`. */
export interface InjectedError {
  method: string;
  path: RegExp;
  code: string;
  message?: string;
}

/** A running test server and its controls. */
export interface HcloudApiServer {
  /** Base URL of the API, e.g. `http://127.0.0.1:40123/v1`. */
  url: string;
  state: CloudState;
  rateLimiter: RateLimiter;
  /** Every request answered, in order. */
  readonly requests: readonly RecordedRequest[];
  /** The next request matching gets the documented error answer of `error.code`. */
  failNext(error: InjectedError): void;
  /** Puts server `id` into `status` with no action (e.g. `migrating`, `unknown`), as the cloud itself may. */
  setStatus(id: number, status: HcloudServerStatus): void;
  stop(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the server on a port the kernel picks on 127.0.0.1. */
export async function startHcloudApiServer(options: HcloudApiServerOptions): Promise<HcloudApiServer> {
  const state = new CloudState(options);
  const rateLimiter = new RateLimiter(options.rateLimit?.limit ?? 3600, options.rateLimit?.refillPerSecond, state.now);
  const requests: RecordedRequest[] = [];
  const injected: InjectedError[] = [];

  function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/^\/v1(?=\/)/, '');
    const text = await readBody(request);
    const record = (status: number, code?: string) => requests.push({ method, path: url.pathname + url.search, status, ...(code ? { code } : {}) });
    try {
      if (request.headers.authorization !== `Bearer ${options.token}`) throw new ApiError('unauthorized', 'unable to authenticate');
      if (!rateLimiter.take()) throw new ApiError('rate_limit_exceeded', `limit of ${rateLimiter.limit} requests per hour reached`);
      if (!url.pathname.startsWith('/v1/')) throw new ApiError('not_found', `${url.pathname} is not a route of this API`);
      const fault = injected.findIndex((candidate) => candidate.method === method && candidate.path.test(path));
      if (fault >= 0) {
        const [error] = injected.splice(fault, 1);
        throw new ApiError(error!.code, error!.message ?? `injected ${error!.code}`);
      }
      let body: unknown;
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          throw new ApiError('json_error', 'request body is not valid JSON');
        }
      }
      const result = route(state, { method, path, query: url.searchParams, body });
      record(result.status);
      answer(response, result.status, result.body, rateLimiter.headers());
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError('server_error', 'internal server error');
      record(apiError.status, apiError.code);
      answer(response, apiError.status, apiError.body(), rateLimiter.headers());
    }
  }

  const server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    state,
    rateLimiter,
    requests,
    failNext(error) {
      injected.push(error);
    },
    setStatus(id, status) {
      state.server(id).status = status;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
