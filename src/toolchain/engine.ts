import { access, constants, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, sep } from 'node:path';
import { PulumiCommand } from '@pulumi/pulumi/automation/index.js';
import { EngineUnavailableError } from './errors.ts';
import { buildEngineFromModuleProxy } from './go-build.ts';
import { engineRoot } from './paths.ts';
import { binDirWithPlugins } from './plugins.ts';
import { runCommand } from './run-command.ts';
import { pinnedPulumiVersion } from './versions.ts';

/** Where an engine came from: found on PATH, the official installer, or built from the Go module proxy. */
export type EngineSource = 'path' | 'official-install' | 'go-build';

/** A Pulumi CLI of the pinned version, ready for the Automation API (`PulumiCommand.get({ root })`). */
export interface Engine {
  version: string;
  /** Directory containing `bin/pulumi`. */
  root: string;
  /**
   * Directory of `pulumi` and of the plugins it launches (language host, dynamic provider): for an engine built
   * from source, a directory of the cache where the CLI is linked beside the plugins of this version of the package.
   */
  binDir: string;
  source: EngineSource;
}

const MARKER = 'installed-by.json';
const OFFICIAL_INSTALL_PROBE = 'https://get.pulumi.com';

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** `pulumi version` of the executable at `path`, without the leading `v`; undefined when it does not run. */
async function reportedVersion(path: string): Promise<string | undefined> {
  try {
    const result = await runCommand(path, ['version'], { env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: 'true' } });
    return result.code === 0 ? result.stdout.trim().replace(/^v/, '') : undefined;
  } catch {
    return undefined;
  }
}

async function pulumiOnPath(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, 'pulumi')))) return join(dir, 'pulumi');
  }
  return undefined;
}

/**
 * Finds an engine of `version` without installing anything: first a `pulumi` on PATH at exactly that version,
 * then the project's cache. Returns undefined when neither exists.
 */
export async function locateEngine(version: string = pinnedPulumiVersion()): Promise<Engine | undefined> {
  const root = engineRoot(version);
  const binDir = join(root, 'bin');
  const onPath = await pulumiOnPath();
  // A directory of the cache on PATH (as `toolchain path` suggests for `pulumi preview`), maybe of another version
  // of this package's plugins, is the cache: this version's own plugins are used.
  if (onPath && !onPath.startsWith(`${root}${sep}`) && (await reportedVersion(onPath)) === version) {
    const pathBinDir = dirname(onPath);
    return { version, root: dirname(pathBinDir), binDir: pathBinDir, source: 'path' };
  }
  const marker = await readFile(join(root, MARKER), 'utf8').catch(() => undefined);
  if (!marker || (await reportedVersion(join(binDir, 'pulumi'))) !== version) return undefined;
  const { source } = JSON.parse(marker) as { source: EngineSource };
  return withPlugins({ version, root, binDir, source });
}

/** `engine` itself, or for an engine built from source the same CLI beside this package's plugins (binDirWithPlugins). */
async function withPlugins(engine: Engine): Promise<Engine> {
  if (engine.source !== 'go-build') return engine;
  const binDir = await binDirWithPlugins(join(engine.binDir, 'pulumi'), join(engine.root, 'with-plugins'));
  return { ...engine, root: dirname(binDir), binDir };
}

/** True when the official installer's host answers within 3 s (false at once on a machine without internet). */
export async function internetReachable(): Promise<boolean> {
  try {
    await fetch(OFFICIAL_INSTALL_PROBE, { method: 'HEAD', signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes the engine of `version` available and returns it: an exact-version `pulumi` on PATH; else the cache;
 * else the official install where the internet is reachable; else a build from the Go module proxy.
 * Throws EngineUnavailableError (with what to do) when none is possible, EngineBuildError when a build fails.
 */
export async function installEngine(
  options: { version?: string; log?: (line: string) => void } = {},
): Promise<Engine> {
  const version = options.version ?? pinnedPulumiVersion();
  const log = options.log ?? (() => {});
  const found = await locateEngine(version);
  if (found) return found;
  const root = engineRoot(version);
  const binDir = join(root, 'bin');
  await mkdir(binDir, { recursive: true });
  let source: EngineSource;
  if (await internetReachable()) {
    log(`installing Pulumi CLI v${version} with the official installer`);
    await PulumiCommand.install({ root }); // installs the version matching the SDK, i.e. `version`
    source = 'official-install';
  } else {
    await buildEngineFromModuleProxy(version, root, log);
    source = 'go-build';
  }
  if ((await reportedVersion(join(binDir, 'pulumi'))) !== version) {
    throw new EngineUnavailableError(`the Pulumi CLI installed in ${binDir} does not report version v${version}`);
  }
  await writeFile(join(root, MARKER), JSON.stringify({ source, version, at: new Date().toISOString() }) + '\n');
  return withPlugins({ version, root, binDir, source });
}

/**
 * Like locateEngine, but throws EngineUnavailableError saying how to install it when it is missing.
 * Tests and the engine use this: they must fail, not skip, without a CLI.
 */
export async function requireEngine(version: string = pinnedPulumiVersion()): Promise<Engine> {
  const engine = await locateEngine(version);
  if (!engine) {
    throw new EngineUnavailableError(
      `Pulumi CLI v${version} is not installed (not on PATH, not in ${engineRoot(version)}). ` +
        'Run `npx dynamic-servers toolchain install`.',
    );
  }
  return engine;
}
