// Where this package's own files are, whether it runs from its TypeScript sources (a checkout) or from the
// compiled JavaScript of an install (`dist/`), and how a checkout makes its own package name resolve to its sources.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The export condition under which this package's name resolves to its TypeScript sources (package.json
 * `exports`): set in a checkout only, where the sources are the truth and `dist/` exists at most while packing.
 */
export const SOURCE_CONDITION = 'dynamic-servers-source';

/** True when this module runs from the TypeScript sources (a checkout), false from the compiled `dist/` of an install. */
export const RUNS_FROM_SOURCE = import.meta.url.endsWith('.ts');

/** The directory of this package's package.json: the checkout, or `node_modules/dynamic-servers` of an install. */
export const PACKAGE_ROOT = packageRootFrom(import.meta.dirname);

function packageRootFrom(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

/**
 * NODE_OPTIONS for Node processes that resolve this package by its name (the Pulumi plugins, a script): `current`
 * with `--conditions=dynamic-servers-source` added when running from the sources, so `dynamic-servers/...` means
 * the sources of the checkout and never a `dist/` left by a pack; `current` unchanged in an install.
 */
export function nodeOptionsForPackage(current: string | undefined = process.env.NODE_OPTIONS): string | undefined {
  if (!RUNS_FROM_SOURCE) return current;
  const flag = `--conditions=${SOURCE_CONDITION}`;
  if (current?.split(/\s+/).includes(flag)) return current;
  return current ? `${current} ${flag}` : flag;
}
