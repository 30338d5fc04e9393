import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StackConfigError, type StackConfigProblem } from './errors.ts';
import { parseServerTypeConfig, type ServerTypeConfig } from './server-type-config.ts';

/**
 * Reads every `Pulumi.<type>.yaml` in `stacksDir` (the `stackConfigDir` of Pulumi.yaml) and returns the server
 * types sorted by name. Throws one StackConfigError listing the problems of all files together.
 */
export async function loadServerTypes(stacksDir: string): Promise<ServerTypeConfig[]> {
  const files = (await readdir(stacksDir)).filter((name) => /^Pulumi\..+\.yaml$/.test(name)).sort();
  const types: ServerTypeConfig[] = [];
  const problems: StackConfigProblem[] = [];
  for (const name of files) {
    const file = join(stacksDir, name);
    try {
      types.push(parseServerTypeConfig(file, await readFile(file, 'utf8')));
    } catch (error) {
      if (!(error instanceof StackConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new StackConfigError(problems);
  return types;
}
