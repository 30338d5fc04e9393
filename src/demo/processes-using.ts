import { readdir, readFile, readlink } from 'node:fs/promises';

/** A process found by processesUsing: its pid and its command line (arguments joined by spaces). */
export interface ProcessUsing {
  pid: number;
  commandLine: string;
}

/** A live process as /proc shows it. */
export interface ProcessEntry extends ProcessUsing {
  parentPid: number;
  processGroup: number;
  /** When it started (clock ticks since boot): with the pid, tells it apart from a later process given the same pid. */
  startTime: number;
  /** Its working directory ('' when it cannot be read). */
  cwd: string;
}

/** One process from /proc, or undefined when it is gone, a zombie, or unreadable. */
async function readProcess(pid: number): Promise<ProcessEntry | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // After the command name in parentheses (which may hold spaces): state, ppid, pgrp, ..., starttime (20th).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields.length < 20 || fields[0] === 'Z' || fields[0] === 'X') return undefined;
  const commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replaceAll('\0', ' ').trimEnd();
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
  return { pid, parentPid: Number(fields[1]), processGroup: Number(fields[2]), startTime: Number(fields[19]), commandLine, cwd };
}

/** Every live process (not zombies) other than this one, read from /proc; none where /proc is missing. */
export async function listProcesses(): Promise<ProcessEntry[]> {
  const found: ProcessEntry[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const read = await readProcess(pid);
    if (read) found.push(read);
  }
  return found;
}

/**
 * The processes (other than this one) whose command line or working directory contains one of `paths`, read
 * from /proc; none where /proc is missing. Processes that end while being read are skipped.
 */
export async function processesUsing(paths: readonly string[]): Promise<ProcessUsing[]> {
  return (await listProcesses())
    .filter((found) => paths.some((path) => found.commandLine.includes(path) || found.cwd.includes(path)))
    .map(({ pid, commandLine }) => ({ pid, commandLine }));
}
