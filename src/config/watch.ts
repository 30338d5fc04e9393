// Workers publish their stack files whenever they change on disk, without a restart: at once through the file
// system's notifications, and at the latest one poll interval later by comparing the files' fingerprint (a
// notification can be missed, e.g. on network file systems or when the directory is replaced).
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROVIDER_LIMITS_FILE } from './provider-limits-file.ts';

/** A running watch; `close()` stops it. */
export interface StackFilesWatcher {
  /** Compares the files with the last fingerprint now, calling `onChange` when they differ. */
  check(): Promise<void>;
  close(): void;
}

/** `sha256` of the names and contents of the configuration files in `stacksDir` (empty when it does not exist). */
export async function stackFilesFingerprint(stacksDir: string): Promise<string> {
  const names = (await readdir(stacksDir).catch(() => [] as string[])).filter((name) => /^Pulumi\..+\.yaml$/.test(name) || name === PROVIDER_LIMITS_FILE).sort();
  const hash = createHash('sha256');
  for (const name of names) {
    const content = await readFile(join(stacksDir, name)).catch(() => Buffer.alloc(0));
    hash.update(`${name}\0${content.length}\0`).update(content);
  }
  return hash.digest('hex');
}

/**
 * Calls `onChange` (one call at a time) each time the configuration files of `stacksDir` differ from when it was
 * last called; the first fingerprint is taken now, so files as they are at the start are not a change. Errors of
 * `onChange` go to `onError`; the next change calls it again.
 */
export async function watchStackFiles(
  stacksDir: string,
  onChange: () => Promise<void>,
  options: { pollMs: number; debounceMs?: number; onError: (error: unknown) => void },
): Promise<StackFilesWatcher> {
  let last = await stackFilesFingerprint(stacksDir);
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  const check = () => {
    running = running.then(async () => {
      if (closed) return;
      const now = await stackFilesFingerprint(stacksDir);
      if (now === last) return;
      last = now;
      await onChange().catch(options.onError);
    });
    return running;
  };
  let debounce: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(stacksDir, { persistent: false }, () => {
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(() => void check(), options.debounceMs ?? 200);
      debounce.unref();
    });
    watcher.on('error', options.onError);
  } catch (error) {
    options.onError(error); // the poll still sees every change
  }
  const poll = setInterval(() => void check(), options.pollMs);
  poll.unref();
  return {
    check,
    close() {
      closed = true;
      clearInterval(poll);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
    },
  };
}
