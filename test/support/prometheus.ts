// A real Prometheus (Debian's `prometheus` package, installed by the test set-up) scraping targets on this machine,
// its HTTP query API, and promtool.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../src/db/free-port.ts';
import { PROMETHEUS_PACKAGE } from './debian-packages.ts';
import { tempDir } from './temp-dir.ts';

const [PROMETHEUS, PROMTOOL] = PROMETHEUS_PACKAGE.programs as [string, string];

/** One series of an instant query's answer. */
export interface Sample {
  metric: Record<string, string>;
  /** Seconds since the epoch (the evaluation time) and the value as text. */
  value: [number, string];
}

/** One series of a range selector's answer: every stored sample in the range. */
export interface StoredSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/** A running Prometheus. */
export interface PrometheusServer {
  url: string;
  /** Evaluates `expression` now (`/api/v1/query`); throws when Prometheus answers with an error. */
  query(expression: string): Promise<Sample[]>;
  /** The samples stored for `selector` over the last `seconds` (the range selector `selector[<seconds>s]`). */
  stored(selector: string, seconds: number): Promise<StoredSeries[]>;
  /** Stops it and deletes its storage. */
  stop(): Promise<void>;
}

/** The output and exit code of a promtool run. */
export interface PromtoolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts Prometheus on 127.0.0.1 (a free port, storage in a temp dir) scraping `targets` (`host:port`, path
 * `/metrics`) every `scrapeSeconds`, with `token` as bearer credentials when given; resolves once it is ready.
 */
export async function startPrometheus(options: { targets: string[]; scrapeSeconds?: number; token?: string }): Promise<PrometheusServer> {
  const work = await tempDir('prometheus');
  const port = await freePort();
  const every = `${options.scrapeSeconds ?? 1}s`;
  const config = [
    'global:',
    `  scrape_interval: ${every}`,
    `  scrape_timeout: ${every}`,
    'scrape_configs:',
    '  - job_name: dynamic-servers',
    ...(options.token ? ['    authorization:', `      credentials: ${options.token}`] : []),
    '    static_configs:',
    `      - targets: [${options.targets.map((target) => JSON.stringify(target)).join(', ')}]`,
    '',
  ].join('\n');
  await writeFile(join(work.path, 'prometheus.yml'), config);
  const child = spawn(
    PROMETHEUS,
    [`--config.file=${join(work.path, 'prometheus.yml')}`, `--storage.tsdb.path=${join(work.path, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-8000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before it was ready: ${log}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (answer) => answer.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prometheus was not ready within 60 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const query = async <T>(expression: string): Promise<T[]> => {
    const answer = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const body = (await answer.json()) as { status: string; error?: string; data?: { resultType: string; result: T[] } };
    if (body.status !== 'success' || !body.data) throw new Error(`prometheus refused ${expression}: ${body.error ?? answer.status}`);
    return body.data.result;
  };
  return {
    url,
    query: (expression) => query<Sample>(expression),
    stored: (selector, seconds) => query<StoredSeries>(`${selector}[${Math.ceil(seconds)}s]`),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      await work.remove();
    },
  };
}

/** Runs `promtool <args>` with `input` on its standard input. */
export function promtool(args: string[], input = ''): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
