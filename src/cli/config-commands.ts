import type { Command } from 'commander';
import { dirname, resolve } from 'node:path';
import { StackConfigError } from '../config/errors.ts';
import { loadDeploymentConfig } from '../config/load.ts';
import { projectProviderCatalog } from '../engine/provider-registry.ts';
import type { PublishedServerType } from '../records/registry.ts';
import { publishProject, stacksDirOf } from '../runtime.ts';
import { formatTable } from './text-table.ts';
import { withEngineRecords } from './with-runtime.ts';

function typesTable(types: readonly PublishedServerType[]): string {
  const cells = types.map((type) => [
    type.name,
    String(type.version),
    type.provider,
    type.settings.maxServers === null ? '-' : String(type.settings.maxServers),
    type.contentHash.slice(0, 19),
    type.publishedAt.toISOString(),
    type.retiredAt ? `retired ${type.retiredAt.toISOString()}` : '',
  ]);
  return formatTable(['TYPE', 'VERSION', 'PROVIDER', 'MAX', 'HASH', 'PUBLISHED', ''], cells);
}

/**
 * Registers the commands on the reviewed configuration:
 * - `validate [dir]`: checks every stack file of `dir` (default `stacks`) and `providers.yaml` against the built-in
 *   providers and the provider packages installed in the project (names, templates) and exits 0 when all are
 *   valid, 1 with one `file:line: key: problem` line per problem otherwise. Needs no secrets and no database: made
 *   for CI on pull requests.
 * - `publish`: validates the project's files and writes them to the registry in DATABASE_URL (a new version per
 *   changed type; removed files retire their types); nothing is written when a file is invalid.
 * - `types [--history]`: the published server types (every version with `--history`).
 */
export function registerConfigCommands(program: Command): void {
  program
    .command('validate')
    .description('Check every stacks/Pulumi.<type>.yaml and stacks/providers.yaml: keys, value shapes, providers, templates, and that credentials are secrets.')
    .argument('[dir]', 'the stack config directory', 'stacks')
    .option('--json', 'print the server types (or the problems) as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers validate\n  $ npx dynamic-servers validate stacks --json')
    .action(async (dir: string, options: { json?: boolean }) => {
      try {
        // Provider packages are installed in the project, the directory of the stack config directory.
        const config = await loadDeploymentConfig(dir, projectProviderCatalog(dirname(resolve(dir))));
        if (options.json) process.stdout.write(JSON.stringify(config.serverTypes, null, 2) + '\n');
        else for (const type of config.serverTypes) process.stdout.write(`ok ${type.file} (type ${type.type}, provider ${type.provider})\n`);
      } catch (error) {
        // The problems go to stdout as JSON too; exit-codes.ts lists them on stderr and exits 1.
        if (error instanceof StackConfigError && options.json) process.stdout.write(JSON.stringify({ problems: error.problems }, null, 2) + '\n');
        throw error;
      }
    });

  program
    .command('publish')
    .description('Validate the stack files of the project and publish them to the registry in DATABASE_URL, where scripts and workers read them.')
    .option('--json', 'print what changed as JSON')
    .addHelpText('after', '\nExample:\n  $ DATABASE_URL=postgres://... npx dynamic-servers publish')
    .action(async (options: { json?: boolean }) => {
      const projectDir = resolve(process.env.DYNAMIC_SERVERS_PROJECT_DIR ?? '.');
      const report = await withEngineRecords((records) => publishProject(records, projectDir));
      if (options.json) {
        process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return;
      }
      for (const type of report.published) process.stdout.write(`published ${type.serverType} v${type.version} (${type.contentHash.slice(0, 19)})\n`);
      for (const type of report.unchanged) process.stdout.write(`unchanged ${type}\n`);
      for (const type of report.retired) process.stdout.write(`retired ${type}\n`);
      for (const provider of report.providers.published) process.stdout.write(`published limits of provider ${provider}\n`);
      for (const provider of report.providers.retired) process.stdout.write(`removed limits of provider ${provider}\n`);
      process.stdout.write(`from ${stacksDirOf(projectDir)}\n`);
    });

  program
    .command('types')
    .description('List the published server types of DATABASE_URL (every version with --history).')
    .option('--history', 'every published version, retired types included')
    .option('--json', 'print the types as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers types\n  $ npx dynamic-servers types --history --json')
    .action(async (options: { history?: boolean; json?: boolean }) => {
      const types = await withEngineRecords((records) => (options.history ? records.serverTypeVersions() : records.serverTypes()));
      process.stdout.write((options.json ? JSON.stringify(types, null, 2) : types.length === 0 ? 'no server types published' : typesTable(types)) + '\n');
    });
}
