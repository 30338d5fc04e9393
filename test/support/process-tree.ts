// Process trees from /proc, for tests that kill a process group and check that nothing of it is left.
import { listProcesses, type ProcessEntry } from '../../src/demo/processes-using.ts';

/** `rootPid` and every process descended from it (by parent pid) in `processes`. */
export function processTree(processes: readonly ProcessEntry[], rootPid: number): ProcessEntry[] {
  const tree = processes.filter((entry) => entry.pid === rootPid);
  for (let index = 0; index < tree.length; index += 1) tree.push(...processes.filter((entry) => entry.parentPid === tree[index]!.pid));
  return tree;
}

/** Those of `processes` still running now: same pid and same start time (not a later process given the pid). */
export async function stillRunning(processes: readonly ProcessEntry[]): Promise<ProcessEntry[]> {
  const now = await listProcesses();
  return processes.filter((entry) => now.some((live) => live.pid === entry.pid && live.startTime === entry.startTime));
}
