// The machine's own Node (on this project's machines, Node 20), as opposed to the Node the project pins in
// node_modules/.bin: for tests that run commands the way a user's shell does.
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

/** The first `node` on PATH outside any node_modules directory; throws when there is none. */
export function machineNode(path = process.env.PATH ?? ''): string {
  for (const dir of path.split(delimiter)) {
    if (dir === '' || dir.includes('node_modules')) continue;
    if (existsSync(join(dir, 'node'))) return join(dir, 'node');
  }
  throw new Error(`no node outside node_modules on PATH (${path})`);
}

/** PATH with the machine's Node first and no node_modules directory, as in a user's shell. */
export function pathWithMachineNodeFirst(path = process.env.PATH ?? ''): string {
  const rest = path.split(delimiter).filter((dir) => dir !== '' && !dir.includes('node_modules'));
  return [dirname(machineNode(path)), ...rest].join(delimiter);
}
