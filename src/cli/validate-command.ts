import type { Command } from 'commander';
import { StackConfigError } from '../stacks/errors.ts';
import { loadServerTypes } from '../stacks/load.ts';

/**
 * Registers `validate [dir]`: checks every stack file of `dir` (default `stacks`) and exits 0 when all are valid,
 * 1 with one `file:line: key: problem` line per problem otherwise. Needs no secrets: made for CI on pull requests.
 */
export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description('Check every stacks/Pulumi.<type>.yaml: keys, value shapes, and that credentials are secrets.')
    .argument('[dir]', 'the stack config directory', 'stacks')
    .option('--json', 'print the server types (or the problems) as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers validate\n  $ npx dynamic-servers validate stacks --json')
    .action(async (dir: string, options: { json?: boolean }) => {
      try {
        const types = await loadServerTypes(dir);
        if (options.json) process.stdout.write(JSON.stringify(types, null, 2) + '\n');
        else for (const type of types) process.stdout.write(`ok ${type.file} (type ${type.type}, provider ${type.provider})\n`);
      } catch (error) {
        // The problems go to stdout as JSON too; exit-codes.ts lists them on stderr and exits 1.
        if (error instanceof StackConfigError && options.json) process.stdout.write(JSON.stringify({ problems: error.problems }, null, 2) + '\n');
        throw error;
      }
    });
}
