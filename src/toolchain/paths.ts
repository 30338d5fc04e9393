import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Root of the per-user cache shared by every clone of the project (`~/.cache/dynamic-servers` by default).
 * `DYNAMIC_SERVERS_CACHE` overrides it, then `XDG_CACHE_HOME`.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DYNAMIC_SERVERS_CACHE) return env.DYNAMIC_SERVERS_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'dynamic-servers');
}

/** Directory that holds the engine of one Pulumi version: `<root>/bin/pulumi` and its plugins, as the Automation API expects. */
export function engineRoot(version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'pulumi', `v${version}`);
}
