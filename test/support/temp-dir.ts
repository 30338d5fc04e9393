import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A new empty directory under the system temp dir, and a function that deletes it. */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `dynamic-servers-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
