import { createHash } from 'node:crypto';
import { chmod, copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../package-layout.ts';

/** The plugins' own sources, plain JavaScript shipped as they are (also in an install, beside the compiled dist/). */
const PLUGIN_SOURCES = join(PACKAGE_ROOT, 'src', 'toolchain', 'plugins');

/**
 * Picks the Node that runs a plugin: the project's pinned `node_modules/.bin/node`, looked for from the plugin's
 * working directory (the engine starts plugins in the program's directory) up to the root; else the one beside the
 * SDK of the engine cache (DYNAMIC_SERVERS_PULUMI_SDK, for inline programs in temp dirs); else `node` on PATH.
 */
const FIND_NODE = `node=
dir=$(pwd)
while [ -z "$node" ]; do
  if [ -x "$dir/node_modules/.bin/node" ]; then node="$dir/node_modules/.bin/node"
  elif [ "$dir" = / ]; then break
  else dir=$(dirname "$dir")
  fi
done
if [ -z "$node" ] && [ -n "$DYNAMIC_SERVERS_PULUMI_SDK" ] && [ -x "$DYNAMIC_SERVERS_PULUMI_SDK/../../.bin/node" ]; then node="$DYNAMIC_SERVERS_PULUMI_SDK/../../.bin/node"; fi
[ -n "$node" ] || node=node
here=$(cd "$(dirname "$0")" && pwd)`;

/** Node code that refuses a Node older than 22.18 (provider modules are TypeScript) and prints the dynamic provider's path. */
const RESOLVE_PROVIDER = [
  "const [major, minor] = process.versions.node.split('.').map(Number);",
  'if (major < 22 || (major === 22 && minor < 18)) {',
  "process.stderr.write('pulumi-resource-pulumi-nodejs: the dynamic-servers providers need Node 22.18 or newer, and ' + process.execPath + ' is ' + process.version + ': no node_modules/.bin/node was found from ' + process.cwd() + ' up. Run npm install in the project, which pins its Node (a project of your own pins one with the node package: npm install node@24).\\n');",
  'process.exit(1);',
  '}',
  "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider', { paths: [process.cwd(), process.env.DYNAMIC_SERVERS_PULUMI_SDK || process.cwd()] }));",
].join(' ');

/**
 * The executables the engine looks for beside `pulumi`, keyed by file name, and the modules they run. Both plugins
 * get DYNAMIC_SERVERS_PLUGIN_PARENT (the engine's pid) and load exit-with-parent.mjs, so they end with the engine.
 */
async function pluginFiles(): Promise<Record<string, string>> {
  const read = (name: string) => readFile(join(PLUGIN_SOURCES, name), 'utf8');
  return {
    'language-host.mjs': await read('language-host.mjs'),
    'exit-with-parent.mjs': await read('exit-with-parent.mjs'),
    'pulumi-language-nodejs': `#!/bin/sh
# dynamic-servers: the nodejs language host (see language-host.mjs), run on the project's Node.
${FIND_NODE}
DYNAMIC_SERVERS_PLUGIN_PARENT=$PPID exec "$node" "$here/language-host.mjs" "$@"
`,
    'pulumi-resource-pulumi-nodejs': `#!/bin/sh
# dynamic-servers: the engine's dynamic-provider plugin, run from the program's own @pulumi/pulumi on Node 22.18+.
${FIND_NODE}
provider=$("$node" -e "${RESOLVE_PROVIDER}") || exit 1
DYNAMIC_SERVERS_PLUGIN_PARENT=$PPID exec "$node" --import "$here/exit-with-parent.mjs" "$provider" "$@"
`,
  };
}

/**
 * A directory `<bin>` holding the Pulumi CLI at `pulumiPath` (hard-linked, so the CLI finds its plugins beside
 * itself, as it expects, without warnings) and the nodejs language host and dynamic-provider plugin this package
 * provides (which a `pulumi` built from source lacks), under `parent`, named by the hash of the plugins' contents.
 * Several versions of this package on one machine (two deployments, or an upgrade under way) share the cache
 * without ever running each other's plugins. Written once, to a temporary name renamed into place, so no reader
 * sees half of it; a warm call only checks that it exists. Returns the directory.
 */
export async function binDirWithPlugins(pulumiPath: string, parent: string): Promise<string> {
  const files = Object.entries(await pluginFiles()).sort(([a], [b]) => a.localeCompare(b));
  const hash = createHash('sha256');
  for (const [name, content] of files) hash.update(`${name}\0${content}\0`);
  const dir = join(parent, hash.digest('hex').slice(0, 16), 'bin');
  const complete = await stat(join(dir, PLUGIN_SHIMS.dynamicProvider)).then(
    () => true,
    () => false,
  );
  if (complete) return dir;
  const partial = `${dirname(dir)}.partial-${process.pid}-${Date.now()}`;
  await mkdir(join(partial, 'bin'), { recursive: true });
  try {
    await link(pulumiPath, join(partial, 'bin', 'pulumi')).catch(() => copyFile(pulumiPath, join(partial, 'bin', 'pulumi')));
    for (const [name, content] of files) {
      await writeFile(join(partial, 'bin', name), content);
      await chmod(join(partial, 'bin', name), 0o755);
    }
    await rename(partial, dirname(dir));
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    // Another process put the same directory in place meanwhile: its content is the same.
    if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
  return dir;
}

/** Names of the plugin executables this project provides, for `doctor`. */
export const PLUGIN_SHIMS = { languageHost: 'pulumi-language-nodejs', dynamicProvider: 'pulumi-resource-pulumi-nodejs' } as const;
