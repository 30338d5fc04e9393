import { readdir, readFile, readlink } from 'node:fs/promises';

/** A process found by processesUsing: its pid and its command line (arguments joined by spaces). */
export interface ProcessUsing {
  pid: number;
  commandLine: string;
}

/**
 * The processes (other than this one) whose command line or working directory contains one of `paths`, read
 * from /proc; none where /proc is missing. Processes that end while being read are skipped.
 */
export async function processesUsing(paths: readonly string[]): Promise<ProcessUsing[]> {
  const found: ProcessUsing[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trimEnd();
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (paths.some((path) => commandLine.includes(path) || cwd.includes(path))) found.push({ pid, commandLine });
  }
  return found;
}
