// The worker's HTTP server for the people and tools that run it: `/metrics` (Prometheus), `/healthz`, `/readyz`,
// the status page `/` and its data `/status.json`. Listens on 127.0.0.1 unless told otherwise; anywhere else it
// needs a token, which every route but the health checks and the page's static assets then requires.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.ts';
import { OperationsConfigError, OperationsListenError, OperationsRequestError } from './errors.ts';
import { PACKAGE_ROOT } from '../package-layout.ts';
import type { ReadinessReport } from './readiness.ts';

/** The port a worker listens on when none is given. */
export const DEFAULT_HTTP_PORT = 9474;
/** The address a worker listens on when none is given. */
export const DEFAULT_HTTP_HOST = '127.0.0.1';

/** Where the server listens and the token it requires, as validated by parseListenSettings. */
export interface ListenSettings {
  host: string;
  /** 0: a free port the system picks. */
  port: number;
  token?: string;
}

/** What the server serves, from the worker. */
export interface OperationsHandlers {
  /** The Prometheus exposition text and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness(): Promise<ReadinessReport>;
  /** The status page's document for the query of `/status.json`; OperationsRequestError for a bad parameter. */
  status(query: URLSearchParams): Promise<unknown>;
}

/** A listening server. */
export interface OperationsServer {
  /** e.g. `http://127.0.0.1:9474`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const MIN_TOKEN_LENGTH = 16;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/**
 * Validates where to listen: `port` a whole number from 0 to 65535 (text from a flag is accepted), `host` an IP
 * address or `localhost`; a host other than loopback needs a `token` of at least 16 characters. Throws
 * OperationsConfigError saying what is wrong.
 */
export function parseListenSettings(input: { host?: string; port?: string | number; token?: string }): ListenSettings {
  const host = input.host ?? DEFAULT_HTTP_HOST;
  if (host !== 'localhost' && isIP(host) === 0) throw new OperationsConfigError(`--http-host must be an IP address or localhost, got ${JSON.stringify(host)}`);
  const rawPort = input.port ?? DEFAULT_HTTP_PORT;
  const port = typeof rawPort === 'number' ? rawPort : /^\d+$/.test(rawPort) ? Number(rawPort) : NaN;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new OperationsConfigError(`--http-port must be a whole number from 0 to 65535, got ${JSON.stringify(rawPort)}`);
  const token = input.token === '' ? undefined : input.token;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new OperationsConfigError(`the HTTP token must have at least ${MIN_TOKEN_LENGTH} characters`);
  if (!isLoopback(host) && token === undefined) {
    throw new OperationsConfigError(`listening on ${host} (not this machine only) needs a token: set DYNAMIC_SERVERS_HTTP_TOKEN (or --http-token)`);
  }
  return { host, port, ...(token === undefined ? {} : { token }) };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** True when the request carries `token` as `Authorization: Bearer <token>` or `?token=<token>`. */
function authorized(request: IncomingMessage, query: URLSearchParams, token: string): boolean {
  const header = request.headers.authorization;
  const offered = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : (query.get('token') ?? '');
  return timingSafeEqual(digest(offered), digest(token));
}

/** The status page, shipped as it is (the compiler copies no HTML into an install's dist/). */
const STATUS_PAGE = join(PACKAGE_ROOT, 'src', 'operations', 'status-page.html');

/** Where the chart library's files are, in the installed `uplot` package. */
function uplotFile(name: string): string {
  return createRequire(import.meta.url).resolve(`uplot/dist/${name}`);
}

/** The files the server sends as they are: the page and the chart library (read once, at start). */
async function loadStaticFiles(): Promise<Map<string, { type: string; body: Buffer }>> {
  return new Map([
    ['/', { type: 'text/html; charset=utf-8', body: await readFile(STATUS_PAGE) }],
    ['/assets/uPlot.iife.min.js', { type: 'text/javascript; charset=utf-8', body: await readFile(uplotFile('uPlot.iife.min.js')) }],
    ['/assets/uPlot.min.css', { type: 'text/css; charset=utf-8', body: await readFile(uplotFile('uPlot.min.css')) }],
  ]);
}

/** Only this machine's own files and inline code; nothing is fetched from anywhere else. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

function send(response: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean): void {
  response.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'content-length': Buffer.byteLength(body),
  });
  response.end(head ? undefined : body);
}

function sendJson(response: ServerResponse, status: number, value: unknown, head: boolean): void {
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, head);
}

/**
 * Starts the server on `settings` (from parseListenSettings). Routes (GET or HEAD):
 * - `/healthz`: 200 while the process serves;
 * - `/readyz`: 200 when every readiness check passes, else 503; both with the checks as JSON;
 * - `/metrics`: the Prometheus text;
 * - `/`: the status page; `/status.json`: its data (`?minutes=` the chart's window);
 * - `/assets/...`: the chart library the page uses.
 * With a token, `/metrics`, `/` and `/status.json` answer 401 without it. Failures of a handler answer 500 and are
 * logged on `logger`. Throws OperationsListenError when the address cannot be listened on.
 */
export async function startOperationsServer(settings: ListenSettings, handlers: OperationsHandlers, logger: Logger): Promise<OperationsServer> {
  const files = await loadStaticFiles();
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://worker');
    const head = request.method === 'HEAD';
    void (async () => {
      logger.debug({ event: 'http-request', method: request.method, path: url.pathname }, `${request.method} ${url.pathname}`);
      if (request.method !== 'GET' && !head) {
        response.setHeader('allow', 'GET, HEAD');
        return sendJson(response, 405, { error: 'only GET and HEAD' }, head);
      }
      if (url.pathname === '/healthz') return sendJson(response, 200, { status: 'alive' }, head);
      if (url.pathname === '/readyz') {
        const report = await handlers.readiness();
        return sendJson(response, report.ready ? 200 : 503, report, head);
      }
      const file = url.pathname.startsWith('/assets/') ? files.get(url.pathname) : undefined;
      if (file) return send(response, 200, file.type, file.body, head);
      if (url.pathname !== '/' && url.pathname !== '/metrics' && url.pathname !== '/status.json') return sendJson(response, 404, { error: 'not found' }, head);
      if (settings.token !== undefined && !authorized(request, url.searchParams, settings.token)) {
        response.setHeader('www-authenticate', 'Bearer');
        return sendJson(response, 401, { error: 'a token is required: Authorization: Bearer <token>, or ?token=<token>' }, head);
      }
      if (url.pathname === '/metrics') {
        const metrics = await handlers.metrics();
        return send(response, 200, metrics.contentType, metrics.body, head);
      }
      if (url.pathname === '/status.json') return sendJson(response, 200, await handlers.status(url.searchParams), head);
      const page = files.get('/')!;
      return send(response, 200, page.type, page.body, head);
    })().catch((error: unknown) => {
      if (error instanceof OperationsRequestError) return sendJson(response, 400, { error: error.message }, head);
      logger.error({ event: 'error', context: `serving ${url.pathname}`, err: error }, `serving ${url.pathname} failed`);
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error (see the worker log)' }, head);
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use (another worker on this machine? give each its own --http-port)' : error.message;
      reject(new OperationsListenError(`cannot listen on ${settings.host}:${settings.port}: ${why}`, { cause: error }));
    });
    server.listen(settings.port, settings.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : settings.port;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
