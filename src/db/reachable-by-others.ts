import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * The first directory from the root down to `path` (inclusive) that a user who owns none of them and shares no
 * group with them cannot enter (no execute bit for others), or null when every one can be entered. This is what a
 * freshly created system user (embedded PostgreSQL's `postgres`, when started by root) needs to reach `path`.
 */
export async function firstDirectoryClosedToOthers(path: string): Promise<string | null> {
  const chain: string[] = [];
  for (let current = resolve(path); ; current = dirname(current)) {
    chain.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const directory of chain) {
    const { mode } = await stat(directory);
    if ((mode & 0o001) === 0) return directory;
  }
  return null;
}
