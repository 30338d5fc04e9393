import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StackEngine } from './engine/stack-engine.ts';
import { DynamicServers } from './records/dynamic-servers.ts';
import { loadServerTypes } from './stacks/load.ts';
import type { ServerTypeConfig } from './stacks/server-type-config.ts';
import type { WorkQueue } from './records/work-queue.ts';
import { requireEngine } from './toolchain/engine.ts';

/** Settings a process needs to act on a deployment, read from the environment. */
export interface RuntimeSettings {
  /** DATABASE_URL. */
  databaseUrl: string;
  /** DYNAMIC_SERVERS_PROJECT_DIR, default the working directory: where Pulumi.yaml and stacks/ are. */
  projectDir: string;
  /** DYNAMIC_SERVERS_DATA_DIR, default `<projectDir>/.data`: state backend and provider files. */
  dataDir: string;
  /** PULUMI_BACKEND_URL, default `file://<dataDir>/state`. */
  backendUrl: string;
  /** PULUMI_CONFIG_PASSPHRASE, when the passphrase secrets provider is used. */
  passphrase?: string;
}

/** A required setting is missing or malformed. */
export class RuntimeConfigurationError extends Error {
  override name = 'RuntimeConfigurationError';
}

/** Reads RuntimeSettings from `env`; throws RuntimeConfigurationError when DATABASE_URL is missing. */
export function runtimeSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RuntimeSettings {
  if (!env.DATABASE_URL) throw new RuntimeConfigurationError('DATABASE_URL is not set: point it at the PostgreSQL database of the deployment');
  const projectDir = resolve(cwd, env.DYNAMIC_SERVERS_PROJECT_DIR ?? '.');
  const dataDir = env.DYNAMIC_SERVERS_DATA_DIR ? resolve(cwd, env.DYNAMIC_SERVERS_DATA_DIR) : join(projectDir, '.data');
  const backendUrl = env.PULUMI_BACKEND_URL ?? pathToFileURL(join(dataDir, 'state')).href;
  if (!isAbsolute(dataDir)) throw new RuntimeConfigurationError(`DYNAMIC_SERVERS_DATA_DIR must resolve to an absolute path, got ${dataDir}`);
  return { databaseUrl: env.DATABASE_URL, projectDir, dataDir, backendUrl, ...(env.PULUMI_CONFIG_PASSPHRASE === undefined ? {} : { passphrase: env.PULUMI_CONFIG_PASSPHRASE }) };
}

/** Records and engine of one deployment, opened together. */
export interface Runtime {
  settings: RuntimeSettings;
  serverTypes: ServerTypeConfig[];
  records: DynamicServers;
  engine: StackEngine;
  close(): Promise<void>;
}

/** The records options for server types defined by stack files. */
export function recordsServerTypes(types: readonly ServerTypeConfig[]): Parameters<typeof DynamicServers.open>[0]['serverTypes'] {
  return Object.fromEntries(
    types.map((type) => [type.type, { provider: type.provider, template: type.template as never, ...(type.maxServers === undefined ? {} : { maximum: type.maxServers }) }]),
  );
}

/**
 * Opens the records (running pending migrations) and the stack engine for the server types in
 * `<projectDir>/stacks`. Throws StackConfigError for invalid stack files, EngineUnavailableError without a CLI.
 * `options.workQueue` receives the records' work (default: a RecordingWorkQueue).
 */
export async function openRuntime(settings: RuntimeSettings = runtimeSettings(), options: { workQueue?: WorkQueue } = {}): Promise<Runtime> {
  const serverTypes = await loadServerTypes(join(settings.projectDir, 'stacks'));
  const pulumiEngine = await requireEngine();
  const records = await DynamicServers.open({ databaseUrl: settings.databaseUrl, serverTypes: recordsServerTypes(serverTypes), ...(options.workQueue ? { workQueue: options.workQueue } : {}) });
  const engine = new StackEngine({ ...settings, engine: pulumiEngine, records });
  return { settings, serverTypes, records, engine, close: () => records.close() };
}
