import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The installed `@pulumi/pulumi` version; the engine must match it exactly. */
export function pinnedPulumiVersion(): string {
  const pkg = require('@pulumi/pulumi/package.json') as { version: string };
  return pkg.version;
}

/** Absolute path of the installed `@pulumi/pulumi` package directory (the one copy every program must share). */
export function pulumiSdkDir(): string {
  return require.resolve('@pulumi/pulumi/package.json').replace(/[\\/]package\.json$/, '');
}
