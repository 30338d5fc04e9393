// The operations parts on their own: the scrubber, the logger's lines, the HTTP settings, the HTTP server's routes,
// token and headers, the readiness checks, and the PromQL name reader the dashboard test relies on.
import { afterEach, expect, test } from '@jest/globals';
import { createLogger } from '../../src/logging/logger.ts';
import { SecretScrubber } from '../../src/logging/scrubber.ts';
import { OperationsConfigError } from '../../src/operations/errors.ts';
import { parseListenSettings, startOperationsServer, type OperationsServer } from '../../src/operations/http-server.ts';
import { checkReadiness, type ReadinessReport } from '../../src/operations/readiness.ts';
import { metricNamesIn } from '../support/promql-names.ts';

let server: OperationsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

test.each([
  ['postgres://app:hunter2@db:5432/fleet?sslmode=require', 'postgres://app:[redacted]@db:5432/fleet?sslmode=require'],
  ['Authorization: Bearer abc.DEF-123', 'Authorization: Bearer [redacted]'],
  ['hcloud:token: Ab12Cd34Ef56Gh78', 'hcloud:token: [redacted]'],
  ['{"token":"xyz","password":"two words"}', '{"token":"[redacted]","password":"[redacted]"}'],
  ["config password='abc 1' applied", "config password='[redacted]' applied"],
  ['GET /x?api_key=abc123&page=2', 'GET /x?api_key=[redacted]&page=2'],
  ['needs a token: set DYNAMIC_SERVERS_HTTP_TOKEN', 'needs a token: set DYNAMIC_SERVERS_HTTP_TOKEN'],
  ['password authentication failed for user "postgres"', 'password authentication failed for user "postgres"'],
  ['local:token is required', 'local:token is required'],
])('the scrubber turns %j into %j', (text, scrubbed) => {
  expect(new SecretScrubber().scrub(text)).toBe(scrubbed);
});

test('the scrubber knows the secret values of an environment and any it is given, wherever they appear', () => {
  const scrubber = SecretScrubber.fromEnvironment({ DATABASE_URL: 'postgres://u:p%40ss-1@h/db', HCLOUD_TOKEN: 'hc-0123456789', PATH: '/usr/bin', SHORT_TOKEN: 'abc' });
  scrubber.add('stack-secret-value');
  expect(scrubber.scrub('p@ss-1 and p%40ss-1, hc-0123456789, stack-secret-value, /usr/bin, abc')).toBe('[redacted] and [redacted], [redacted], [redacted], /usr/bin, abc');
  const nested = { a: ['x hc-0123456789'], error: new Error('failed with stack-secret-value') };
  expect(scrubber.scrubValue(nested)).toEqual({ a: ['x [redacted]'], error: { type: 'Error', message: 'failed with [redacted]', stack: expect.not.stringContaining('stack-secret-value') } });
});

test('the logger writes one JSON object a line with an ISO time, a level word, credential fields blanked and secrets scrubbed', () => {
  const written: string[] = [];
  const scrubber = new SecretScrubber();
  scrubber.add('s3cr3t-value');
  const logger = createLogger({ scrubber, destination: { write: (line: string) => void written.push(line) } });
  logger.info({ event: 'published', token: 'plain', nested: { password: 'pw' }, note: 'has s3cr3t-value inside' }, 'published with s3cr3t-value');
  logger.error({ event: 'error', err: new Error('cannot reach postgres://u:pw@h/db with s3cr3t-value') }, 'failed');
  expect(written.join('').endsWith('\n')).toBe(true);
  const lines = written.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines[0]).toMatchObject({ level: 'info', event: 'published', token: '[redacted]', nested: { password: '[redacted]' }, note: 'has [redacted] inside', msg: 'published with [redacted]' });
  expect(new Date(String(lines[0]!.time)).toISOString()).toBe(lines[0]!.time);
  expect(lines[1]).toMatchObject({ level: 'error', err: { type: 'Error', message: 'cannot reach postgres://u:[redacted]@h/db with [redacted]' } });
  expect(written.join('')).not.toContain('s3cr3t-value');
});

test.each([
  [{ port: '70000' }, '--http-port must be a whole number from 0 to 65535, got "70000"'],
  [{ port: '8o' }, '--http-port must be a whole number from 0 to 65535, got "8o"'],
  [{ host: 'example.com' }, '--http-host must be an IP address or localhost, got "example.com"'],
  [{ host: '0.0.0.0' }, 'listening on 0.0.0.0 (not this machine only) needs a token: set DYNAMIC_SERVERS_HTTP_TOKEN (or --http-token)'],
  [{ host: '10.0.0.5', token: 'too-short' }, 'the HTTP token must have at least 16 characters'],
])('listen settings %j are refused: %s', (input, message) => {
  expect(() => parseListenSettings(input)).toThrow(new OperationsConfigError(message));
});

test('listen settings default to 127.0.0.1:9474 and accept another address with a token', () => {
  expect(parseListenSettings({})).toEqual({ host: '127.0.0.1', port: 9474 });
  expect(parseListenSettings({ host: '::1', port: '0' })).toEqual({ host: '::1', port: 0 });
  expect(parseListenSettings({ host: '0.0.0.0', port: 9100, token: 'a-long-enough-token' })).toEqual({ host: '0.0.0.0', port: 9100, token: 'a-long-enough-token' });
});

const silent = createLogger({ level: 'silent' });

async function serve(options: { token?: string; ready?: boolean } = {}): Promise<OperationsServer> {
  const readiness: ReadinessReport = { ready: options.ready ?? true, checks: [{ name: 'database', ok: options.ready ?? true }] };
  server = await startOperationsServer(
    { host: '127.0.0.1', port: 0, ...(options.token ? { token: options.token } : {}) },
    {
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: '# HELP x y\n# TYPE x gauge\nx 1\n' }),
      readiness: async () => readiness,
      status: async (query) => ({ minutes: query.get('minutes') }),
    },
    silent,
  );
  return server;
}

test('the HTTP server answers health, readiness, metrics, the page, its data and assets, and nothing else', async () => {
  const { url } = await serve();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'alive' });
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  expect(await (await fetch(`${url}/metrics`)).text()).toBe('# HELP x y\n# TYPE x gauge\nx 1\n');
  expect(await (await fetch(`${url}/status.json?minutes=30`)).json()).toEqual({ minutes: '30' });
  const page = await fetch(`${url}/`);
  expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
  const html = await page.text();
  expect(html).toContain('<title>dynamic-servers: fleet status</title>');
  // Nothing the page loads comes from outside the worker.
  expect(html.match(/(src|href)=["'][^"']*["']/g)).toEqual(['href="assets/uPlot.min.css"', 'src="assets/uPlot.iife.min.js"']);
  expect((await fetch(`${url}/assets/uPlot.iife.min.js`)).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect((await fetch(`${url}/assets/other.js`)).status).toBe(404);
  expect((await fetch(`${url}/admin`)).status).toBe(404);
  expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
});

test('with a token, metrics, the page and its data need it; health checks and assets do not', async () => {
  const token = 'a-long-enough-token';
  const { url } = await serve({ token, ready: false });
  for (const path of ['/metrics', '/', '/status.json']) {
    expect([path, (await fetch(`${url}${path}`)).status]).toEqual([path, 401]);
    expect([path, (await fetch(`${url}${path}`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status]).toEqual([path, 401]);
    expect([path, (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status]).toEqual([path, 200]);
  }
  expect((await fetch(`${url}/?token=${token}`)).status).toBe(200);
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  expect((await fetch(`${url}/readyz`)).status).toBe(503);
  expect((await fetch(`${url}/assets/uPlot.min.css`)).status).toBe(200);
});

test('a taken port is an OperationsListenError naming it', async () => {
  const first = await serve();
  const port = Number(new URL(first.url).port);
  await expect(startOperationsServer({ host: '127.0.0.1', port }, { metrics: async () => ({ contentType: '', body: '' }), readiness: async () => ({ ready: true, checks: [] }), status: async () => ({}) }, silent)).rejects.toThrow(
    `cannot listen on 127.0.0.1:${port}: the port is in use`,
  );
});

test('readiness fails a check that throws or takes too long, and passes the others', async () => {
  const report = await checkReadiness(
    [
      { name: 'database', check: async () => 1 },
      { name: 'job-store', check: () => new Promise(() => {}) },
      { name: 'engine', check: async () => Promise.reject(new Error('pulumi is missing')) },
    ],
    200,
  );
  expect(report).toEqual({
    ready: false,
    checks: [
      { name: 'database', ok: true },
      { name: 'job-store', ok: false, error: 'no answer within 200 ms' },
      { name: 'engine', ok: false, error: 'pulumi is missing' },
    ],
  });
});

test('the PromQL name reader finds the metrics of an expression, not its functions, labels or keywords', () => {
  expect(metricNamesIn('histogram_quantile(0.95, max by (server_type, le) (rate(a_bucket{x="y",job=~"$job"}[30m]))) / on (server_type) group_left b_total offset 5m > bool 3')).toEqual([
    'a_bucket',
    'b_total',
  ]);
});
