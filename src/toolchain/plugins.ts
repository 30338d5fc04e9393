import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Picks the project's pinned Node (`node_modules/.bin/node` of the program or of the SDK the cache was made for). */
const FIND_NODE = `node=node
if [ -x ./node_modules/.bin/node ]; then node=./node_modules/.bin/node
elif [ -n "$DYNAMIC_SERVERS_PULUMI_SDK" ] && [ -x "$DYNAMIC_SERVERS_PULUMI_SDK/../../.bin/node" ]; then node="$DYNAMIC_SERVERS_PULUMI_SDK/../../.bin/node"
fi`;

/** The executables the engine looks for beside `pulumi`, keyed by file name. */
async function pluginFiles(): Promise<Record<string, string>> {
  const languageHost = await readFile(new URL('./plugins/language-host.mjs', import.meta.url), 'utf8');
  return {
    'language-host.mjs': languageHost,
    'pulumi-language-nodejs': `#!/bin/sh
# dynamic-servers: the nodejs language host (see language-host.mjs), run on the project's Node.
${FIND_NODE}
exec "$node" "$(dirname "$0")/language-host.mjs" "$@"
`,
    'pulumi-resource-pulumi-nodejs': `#!/bin/sh
# dynamic-servers: the engine's dynamic-provider plugin, run from the program's own @pulumi/pulumi.
${FIND_NODE}
provider=$("$node" -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider', { paths: [process.cwd(), process.env.DYNAMIC_SERVERS_PULUMI_SDK || process.cwd()] }))") || exit 1
exec "$node" "$provider" "$@"
`,
  };
}

/**
 * Writes the nodejs language host and the dynamic-provider plugin into `binDir` (beside a `pulumi` built from
 * source, which has neither). Rewrites a file only when its content changed, so a warm run does no I/O but reads.
 */
export async function installPluginShims(binDir: string): Promise<void> {
  for (const [name, content] of Object.entries(await pluginFiles())) {
    const path = join(binDir, name);
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current !== content) await writeFile(path, content);
    await chmod(path, 0o755);
  }
}

/** Names of the plugin executables this project provides, for `doctor`. */
export const PLUGIN_SHIMS = { languageHost: 'pulumi-language-nodejs', dynamicProvider: 'pulumi-resource-pulumi-nodejs' } as const;
