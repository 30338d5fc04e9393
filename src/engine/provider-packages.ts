// Providers in packages of their own: a stack file names the package (`dynamic-servers:provider:
// '@acme/dynamic-servers-foo'`), and the engine imports its default export, a ProviderFactory, as the deployment
// project resolves the name. Nothing in this package lists them.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { ProviderFactory } from '../../providers/contract.ts';
import { PROVIDER_NAME_PATTERN } from '../records/input.ts';
import { ProviderConfigurationError } from './errors.ts';

/** A provider package that cannot be used: not installed in the project, failing to load, or exporting no ProviderFactory. */
export class ProviderPackageError extends ProviderConfigurationError {
  override name = 'ProviderPackageError';
}

/** No package of the provider's name resolves from the project (a typo, or a package not installed there). */
export class ProviderPackageNotInstalledError extends ProviderPackageError {
  override name = 'ProviderPackageNotInstalledError';
}

const factorySchema = z.looseObject({
  configNamespace: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be lowercase letters, digits and dashes, starting with a letter'),
  envPrefix: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be uppercase letters, digits and underscores, starting with a letter'),
  checkTemplate: z.custom<ProviderFactory['checkTemplate']>((value) => typeof value === 'function', 'must be a function'),
  offerings: z.custom<ProviderFactory['offerings']>((value) => typeof value === 'function', 'must be a function').optional(),
  publishesPrices: z.boolean().optional(),
  create: z.custom<ProviderFactory['create']>((value) => typeof value === 'function', 'must be a function'),
});

/** Where package `name` resolves from `projectDir` (its node_modules, or above), or undefined when it does not. */
function resolvePackage(name: string, projectDir: string): string | undefined {
  try {
    return createRequire(join(projectDir, 'package.json')).resolve(name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return undefined;
    throw error;
  }
}

/**
 * The ProviderFactory that package `name` exports as its default export, imported as `projectDir` resolves the
 * name (the package must export its main entry under a `default` or `require` condition, or as a plain string).
 * Throws ProviderPackageError when the package fails to load or exports no factory, and its subclass
 * ProviderPackageNotInstalledError when it is not installed there.
 */
export async function importProviderPackage(name: string, projectDir: string): Promise<ProviderFactory> {
  if (!PROVIDER_NAME_PATTERN.test(name)) throw new ProviderPackageError(`"${name}" is not the npm name of a provider package`);
  const path = resolvePackage(name, projectDir);
  if (path === undefined) {
    throw new ProviderPackageNotInstalledError(`provider package "${name}" is not installed in ${projectDir}: run \`npm install ${name}\` there`);
  }
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (error) {
    throw new ProviderPackageError(`provider package "${name}" failed to load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, { cause: error });
  }
  const parsed = factorySchema.safeParse(module.default);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ProviderPackageError(
      `provider package "${name}" has no provider factory as its default export (configNamespace, envPrefix, checkTemplate, create): ${where}${issue?.message ?? 'invalid'}`,
    );
  }
  return module.default as ProviderFactory;
}
