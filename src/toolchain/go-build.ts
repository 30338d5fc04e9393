import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineBuildError, EngineUnavailableError } from './errors.ts';
import { runCommand } from './run-command.ts';

const PKG_MODULE = 'github.com/pulumi/pulumi/pkg/v3';
const SDK_MODULE = 'github.com/pulumi/pulumi/sdk/v3';
const VERSION_SYMBOL = 'github.com/pulumi/pulumi/sdk/v3/go/common/version.Version';

/** Version line of the Go toolchain on PATH (`go version go1.26.8 linux/amd64`), or undefined when there is none. */
export async function goVersion(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  try {
    const result = await runCommand('go', ['version'], { env });
    return result.code === 0 ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `replace` directives of a go.mod that point at other modules (not local paths), as `old => new version`.
 * Local replacements such as `sdk/v3 => ../sdk` only make sense inside the Pulumi repository and are dropped.
 */
export function remoteReplaces(goMod: string): string[] {
  const directives: string[] = [];
  const single = /^replace\s+(.+=>.+)$/gm;
  for (const match of goMod.matchAll(single)) if (match[1] && !match[1].trim().startsWith('(')) directives.push(match[1].trim());
  const blocks = /^replace\s*\(([\s\S]*?)^\)/gm;
  for (const block of goMod.matchAll(blocks)) {
    for (const line of (block[1] ?? '').split('\n')) if (line.includes('=>')) directives.push(line.trim());
  }
  return directives.filter((directive) => {
    const target = directive.split('=>')[1]?.trim() ?? '';
    return !target.startsWith('.') && !target.startsWith('/');
  });
}

/**
 * Builds the Pulumi CLI `version` from the Go module proxy into `<root>/bin/pulumi`, stamped with its version
 * (the Automation API refuses an unstamped CLI). The build module lives in `<root>/build` and Go's own caches
 * make a rebuild cheap. `log` receives progress lines.
 */
export async function buildEngineFromModuleProxy(version: string, root: string, log: (line: string) => void): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' };
  const go = await goVersion(env);
  if (!go) {
    throw new EngineUnavailableError(
      `Pulumi CLI v${version} is not installed, cannot be downloaded from here, and cannot be built because Go is not on PATH. ` +
        `Install Go 1.25 or newer (or Pulumi CLI v${version}) and run \`npx dynamic-servers toolchain install\`.`,
    );
  }
  const buildDir = join(root, 'build');
  const binDir = join(root, 'bin');
  await mkdir(buildDir, { recursive: true });
  await mkdir(binDir, { recursive: true });
  log(`building Pulumi CLI v${version} from the Go module proxy with ${go}`);

  const goModOfPkg = await mustRun('go', ['mod', 'download', '-json', `${PKG_MODULE}@v${version}`], buildDir, env);
  const goModPath = (JSON.parse(goModOfPkg) as { GoMod: string }).GoMod;
  const pkgGoMod = await readFile(goModPath, 'utf8');
  const goDirective = /^go\s+(\S+)/m.exec(pkgGoMod)?.[1] ?? '1.25';
  const replaces = remoteReplaces(pkgGoMod).map((directive) => `replace ${directive}`);
  await writeFile(
    join(buildDir, 'go.mod'),
    [`module dynamic-servers.local/pulumi-build`, '', `go ${goDirective}`, '', ...replaces, ''].join('\n'),
  );

  log('resolving modules (go get)');
  await mustRun('go', ['get', `${PKG_MODULE}/cmd/pulumi@v${version}`, `${SDK_MODULE}@v${version}`], buildDir, env);
  log('compiling (go build); the first build takes several minutes');
  const output = join(binDir, 'pulumi.partial');
  await mustRun(
    'go',
    ['build', '-trimpath', '-ldflags', `-s -w -X ${VERSION_SYMBOL}=v${version}`, '-o', output, `${PKG_MODULE}/cmd/pulumi`],
    buildDir,
    env,
  );
  await rename(output, join(binDir, 'pulumi'));
}

async function mustRun(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const result = await runCommand(file, args, { cwd, env });
  if (result.code !== 0) {
    throw new EngineBuildError(`\`${file} ${args.join(' ')}\` exited with ${result.code}`, result.stderr.slice(-4000));
  }
  return result.stdout;
}
