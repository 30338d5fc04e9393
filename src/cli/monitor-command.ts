import type { Command } from 'commander';
import { runMonitorTick, type MonitorTypeResult } from '../jobs/monitor.ts';
import { EXIT } from './exit-codes.ts';
import { loadMonitor } from './monitor-module.ts';
import { chooseServerTypes } from './server-type-choice.ts';
import { formatTable } from './text-table.ts';
import { withRecords } from './with-runtime.ts';

function outcome(result: MonitorTypeResult): string {
  if (result.error !== undefined) return `error: ${result.error}`;
  return result.changed ? 'changed' : 'unchanged';
}

/**
 * Registers `monitor`: one tick of the worker's monitor job, now (runMonitorTick): loads `--monitor <module>`'s
 * determineServerCount, asks it for every published type (or `--type`'s only), applies numeric answers with
 * ensure(), and prints each type's provisioned count before and after (a table, or a JSON array of
 * MonitorTypeResult with `--json`). A missing or unusable module or an unknown type exits 2 with nothing changed;
 * a type whose callback threw (or whose answer was refused) is reported on stderr and the command exits 1.
 */
export function registerMonitorCommand(program: Command): void {
  program
    .command('monitor')
    .description('Run one tick of the monitor now: ask determineServerCount for each type and apply the answers with ensure().')
    .requiredOption('--monitor <module>', 'module exporting determineServerCount(type), as for `worker --monitor`')
    .option('-t, --type <type>', 'only this server type')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers monitor --monitor ./count.js\n  $ npx dynamic-servers monitor --monitor ./count.js --type worker --json')
    .action(async (options: { monitor: string; type?: string; json?: boolean }) => {
      const determine = await loadMonitor(options.monitor);
      const results = await withRecords(async (records) => {
        const types = chooseServerTypes(await records.serverTypes(), options.type).map((type) => type.name);
        return runMonitorTick(records, types, determine);
      });
      if (options.json) {
        process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      } else {
        const rows = results.map((result) => [result.serverType, result.answer === null ? '-' : String(result.answer), String(result.before), String(result.after), outcome(result)]);
        process.stdout.write(formatTable(['TYPE', 'ANSWER', 'BEFORE', 'AFTER', 'RESULT'], rows) + '\n');
      }
      const failed = results.filter((result) => result.error !== undefined);
      for (const result of failed) process.stderr.write(`dynamic-servers: determineServerCount(${result.serverType}) failed: ${result.error}\n`);
      if (failed.length > 0) process.exitCode = EXIT.failure;
    });
}
