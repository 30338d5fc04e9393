// `dynamic-servers init [dir]`: a new deployment project, and what to do next.
import type { Command } from 'commander';
import { initProject } from '../init/init-project.ts';
import { nextSteps } from '../init/project-files.ts';

/**
 * Registers `init [dir]`: writes a deployment project into `dir` (default: the working directory), which must be
 * empty or not exist (else exit 2, nothing written), lists the files and prints the next steps.
 */
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('Make a deployment project: package.json, Pulumi.yaml, an example stack file per built-in provider, a determineServerCount example, .gitignore.')
    .argument('[dir]', 'an empty or new directory', '.')
    .option('--json', 'print the project directory and the files written as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers init my-deployment\n  $ npx -p node@24 -p dynamic-servers dynamic-servers init my-deployment   # on a machine whose Node is older than 22.18')
    .action(async (dir: string, options: { json?: boolean }) => {
      const report = await initProject(dir);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      process.stdout.write(`Made a deployment project in ${report.dir}:\n${report.files.map((file) => `  ${file}\n`).join('')}\nNext steps:\n`);
      process.stdout.write(nextSteps(dir).map((line) => (line.startsWith('  ') ? `   ${line}\n` : ` - ${line}\n`)).join(''));
    });
}
