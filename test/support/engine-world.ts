// A whole engine on this machine for tests and benchmarks: embedded PostgreSQL, the local cloud (its own, or one
// shared by several worlds: installations sharing a cloud project), a project directory (Pulumi.yaml, stacks/, and
// links to the sources) in a temp dir with a file:// backend or Pulumi's postgres:// backend on the same database,
// the records and the stack engine.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/database.ts';
import { createScratchProject } from '../../src/demo/scratch-project.ts';
import { StackEngine } from '../../src/engine/stack-engine.ts';
import { openTypeStack, type StackSettings } from '../../src/engine/type-stack.ts';
import { startLocalCloud, type LocalCloud } from '../../src/local-cloud/local-cloud.ts';
import type { LocalCloudOptions } from '../../src/local-cloud/options.ts';
import { EngineRecords } from '../../src/records/engine-records.ts';
import { publishProject } from '../../src/runtime.ts';
import { requireEngine } from '../../src/toolchain/engine.ts';
import { tempDir } from './temp-dir.ts';

/**
 * Waits (up to 5 s) until no other session is connected, so clients whose pools are still closing are not cut
 * off by the server's shutdown (an 'error' event nobody listens to any more).
 */
async function waitForOtherConnectionsToClose(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const { rows } = await client.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend'");
      if (rows[0]?.n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.end();
  }
}

/** Everything a test of the engine touches, and how to tear it down. */
export interface EngineWorld {
  database: EmbeddedDatabase;
  cloud: LocalCloud;
  projectDir: string;
  dataDir: string;
  settings: StackSettings;
  records: EngineRecords;
  engine: StackEngine;
  /** Environment that points `dynamic-servers` commands and `pulumi` at this world. */
  cliEnv: NodeJS.ProcessEnv;
  /** The PULUMI_HOME of the world's commands, with `ownPulumiHome`. */
  pulumiHome: string | undefined;
  /** The world's temporary directory (project, data, PULUMI_HOME). */
  workDir: string;
  close(): Promise<void>;
}

/** How startEngineWorld sets a world up. */
export interface EngineWorldOptions {
  serverType?: string;
  /** Stored in the stack file only as a Pulumi secret (`local:token`); required by the world's own cloud. */
  token?: string;
  /** Options of the world's own local cloud. */
  cloud?: LocalCloudOptions;
  /** A local cloud to use instead of starting one (it is not stopped with the world); `cloud` is then ignored. */
  sharedCloud?: LocalCloud;
  maxServers?: number;
  /** Plain keys added to the stack file (e.g. `{ 'dynamic-servers:bootTimeoutSeconds': 1 }`). */
  stackConfig?: Record<string, string | number | boolean>;
  /** The YAML lines of the template, replacing the provider's default (local: `snapshot: base-snapshot`, `size: small`). */
  template?: string[];
  /** The state backend: `file` (default, a directory in the world) or `postgres` (Pulumi's, on the world's database). */
  backend?: 'file' | 'postgres';
  /** Give the world's commands a PULUMI_HOME of their own (`pulumiHome`), instead of the user's ~/.pulumi. */
  ownPulumiHome?: boolean;
  /**
   * `hcloud`: the type uses the hcloud provider against the world's cloud in its strict (Hetzner) profile, the
   * `token` (64 characters, required) stored as the secret `hcloud:token`. `aws`: the type uses the aws provider,
   * its API side against `awsEndpoint` (moto) in region `awsRegion`. Default `local`.
   */
  provider?: 'local' | 'hcloud' | 'aws';
  awsEndpoint?: string;
  awsRegion?: string;
  /** Files written into the project before it is published (e.g. a drain hook module the stack file names), by path relative to its root. */
  projectFiles?: Record<string, string>;
}

/**
 * Starts a world with one server type `serverType` on the local cloud, its stack file published (see
 * EngineWorldOptions).
 */
export async function startEngineWorld(options: EngineWorldOptions = {}): Promise<EngineWorld> {
  const serverType = options.serverType ?? 'demo';
  const pulumiEngine = await requireEngine();
  const work = await tempDir('engine-world');
  const database = await startEmbeddedPostgres('engine_world');
  const hcloud = options.provider === 'hcloud';
  if (hcloud && options.token?.length !== 64) throw new Error('an hcloud world needs a 64-character token');
  const cloud = options.sharedCloud ?? (await startLocalCloud({ ...options.cloud, ...(hcloud ? { profile: 'strict' as const } : {}), ...(options.token ? { token: options.token } : {}) }));
  const projectDir = join(work.path, 'project');
  const dataDir = join(work.path, 'data');
  await mkdir(join(dataDir, 'state'), { recursive: true });
  const provider = options.provider ?? 'local';
  const defaultTemplate = {
    hcloud: ['snapshot:', '  id: 1001', 'serverType: cx22', 'location: fsn1'],
    aws: ['ami:', '  id: ami-03cf127a', 'instanceType: t3.micro'],
    local: ['snapshot: base-snapshot', 'size: small'],
  }[provider];
  const settingLines = {
    hcloud: [`  hcloud:endpoint: ${cloud.url}`],
    aws: [`  aws:region: ${options.awsRegion ?? 'eu-central-1'}`, `  aws:endpoint: ${options.awsEndpoint ?? ''}`],
    local: [`  local:endpoint: ${cloud.url}`],
  }[provider];
  const providerLines = [
    `  dynamic-servers:provider: ${provider}`,
    '  dynamic-servers:template:',
    ...(options.template ?? defaultTemplate).map((line) => `    ${line}`),
    ...settingLines,
  ];
  await createScratchProject(projectDir, {
    [serverType]: [
      'config:',
      ...providerLines,
      ...(options.maxServers === undefined ? [] : [`  dynamic-servers:maxServers: ${options.maxServers}`]),
      ...Object.entries(options.stackConfig ?? {}).map(([key, value]) => `  ${key}: ${value}`),
      '',
    ].join('\n'),
  });
  for (const [path, text] of Object.entries(options.projectFiles ?? {})) await writeFile(join(projectDir, path), text);
  const settings: StackSettings = {
    engine: pulumiEngine,
    projectDir,
    // Pulumi's PostgreSQL backend (lib/pq) asks for TLS unless told otherwise; the embedded server has none.
    backendUrl: options.backend === 'postgres' ? `${database.url}?sslmode=disable&table=pulumi_state` : pathToFileURL(join(dataDir, 'state')).href,
    passphrase: 'engine-world-passphrase',
  };
  const pulumiHome = join(work.path, 'pulumi-home');
  if (options.ownPulumiHome) await mkdir(pulumiHome, { recursive: true });
  if (options.token) {
    const stack = await openTypeStack(settings, serverType, async () => {});
    await stack.setConfig(hcloud ? 'hcloud:token' : 'local:token', { value: options.token, secret: true });
  }
  const records = await EngineRecords.openForEngine({ databaseUrl: database.url });
  await publishProject(records, projectDir);
  const engine = new StackEngine({ ...settings, records, databaseUrl: database.url, dataDir, env: {} });
  return {
    database,
    cloud,
    projectDir,
    dataDir,
    settings,
    records,
    engine,
    cliEnv: {
      ...process.env,
      DATABASE_URL: database.url,
      DYNAMIC_SERVERS_PROJECT_DIR: projectDir,
      DYNAMIC_SERVERS_DATA_DIR: dataDir,
      PULUMI_BACKEND_URL: settings.backendUrl,
      PULUMI_CONFIG_PASSPHRASE: settings.passphrase,
      ...(options.ownPulumiHome ? { PULUMI_HOME: pulumiHome } : {}),
    },
    pulumiHome: options.ownPulumiHome ? pulumiHome : undefined,
    workDir: work.path,
    async close() {
      await engine.close().catch(() => {});
      await records.close().catch(() => {});
      if (!options.sharedCloud) await cloud.stop().catch(() => {});
      await waitForOtherConnectionsToClose(database.url);
      await database.stop().catch(() => {});
      await work.remove();
    },
  };
}
