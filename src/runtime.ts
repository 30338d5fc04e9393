import { readdir } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publishStackFiles } from './config/publish.ts';
import { StackEngine, type StackEngineOptions } from './engine/stack-engine.ts';
import { projectProviderCatalog } from './engine/provider-registry.ts';
import { EngineRecords, type EngineRecordsOptions } from './records/engine-records.ts';
import type { PublishedServerType, PublishReport } from './records/registry.ts';
import { requireEngine, type Engine } from './toolchain/engine.ts';

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

/** Reads DATABASE_URL, the one setting every command needs; RuntimeConfigurationError when it is missing. */
export function databaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (!env.DATABASE_URL) throw new RuntimeConfigurationError('DATABASE_URL is not set: point it at the PostgreSQL database of the deployment');
  return env.DATABASE_URL;
}

/** Reads RuntimeSettings from `env`; throws RuntimeConfigurationError when DATABASE_URL is missing. */
export function runtimeSettings(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): RuntimeSettings {
  const url = databaseUrl(env);
  const projectDir = resolve(cwd, env.DYNAMIC_SERVERS_PROJECT_DIR ?? '.');
  const dataDir = env.DYNAMIC_SERVERS_DATA_DIR ? resolve(cwd, env.DYNAMIC_SERVERS_DATA_DIR) : join(projectDir, '.data');
  const backendUrl = env.PULUMI_BACKEND_URL ?? pathToFileURL(join(dataDir, 'state')).href;
  if (!isAbsolute(dataDir)) throw new RuntimeConfigurationError(`DYNAMIC_SERVERS_DATA_DIR must resolve to an absolute path, got ${dataDir}`);
  return { databaseUrl: url, projectDir, dataDir, backendUrl, ...(env.PULUMI_CONFIG_PASSPHRASE === undefined ? {} : { passphrase: env.PULUMI_CONFIG_PASSPHRASE }) };
}

/** The engine's records and the stack engine of one deployment, opened together. */
export interface Runtime {
  settings: RuntimeSettings;
  /** The Pulumi CLI the engine runs. */
  pulumi: Engine;
  records: EngineRecords;
  engine: StackEngine;
  close(): Promise<void>;
}

/**
 * Opens the engine's records (running pending migrations) and the stack engine of the deployment in
 * `settings.projectDir`. Throws EngineUnavailableError without a Pulumi CLI. `options` receives the workers'
 * notifications (see EngineRecords), the engine's updates, the secrets it reads and the errors of its background
 * work (see StackEngineOptions). `close()` hands back the drains the engine runs, then closes the records.
 */
export async function openRuntime(
  settings: RuntimeSettings = runtimeSettings(),
  options: Pick<EngineRecordsOptions, 'onWork' | 'onConfig' | 'scrubText'> & Pick<StackEngineOptions, 'onUpdate' | 'onSecrets' | 'onError' | 'onRecovery'> = {},
): Promise<Runtime> {
  const pulumiEngine = await requireEngine();
  const { onUpdate, onSecrets, onError, onRecovery, ...recordsOptions } = options;
  const records = await EngineRecords.openForEngine({ databaseUrl: settings.databaseUrl, ...recordsOptions });
  const engine = new StackEngine({
    ...settings,
    engine: pulumiEngine,
    records,
    ...(onUpdate ? { onUpdate } : {}),
    ...(onSecrets ? { onSecrets } : {}),
    ...(onError ? { onError } : {}),
    ...(onRecovery ? { onRecovery } : {}),
  });
  // The drains this process runs go back to the others before its records close.
  const close = async () => {
    await engine.close();
    await records.close();
  };
  return { settings, pulumi: pulumiEngine, records, engine, close };
}

/** The stack config directory of a project. */
export function stacksDirOf(projectDir: string): string {
  return join(projectDir, 'stacks');
}

/**
 * Validates the stack files of `projectDir` against the built-in providers and the provider packages installed in
 * the project, and publishes them through `records` (see publishStackFiles: StackConfigError or
 * ServerTypeInUseError leave the registry as it was).
 */
export function publishProject(records: EngineRecords, projectDir: string): Promise<PublishReport> {
  return publishStackFiles(records, stacksDirOf(projectDir), projectProviderCatalog(projectDir), projectDir);
}

/**
 * The server types a process of the project in `projectDir` works on: the published ones whose stack file is
 * there (the engine reads their provider credentials from it), sorted by name.
 */
export async function localServerTypes(records: EngineRecords, projectDir: string): Promise<PublishedServerType[]> {
  const files = new Set(await readdir(stacksDirOf(projectDir)).catch(() => [] as string[]));
  return (await records.serverTypes()).filter((type) => files.has(`Pulumi.${type.name}.yaml`));
}
