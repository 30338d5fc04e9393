import type { Command } from 'commander';
import { markHangingServers, type HungServer } from '../jobs/hang-detection.ts';
import { chooseServerTypes } from './server-type-choice.ts';
import { formatTable } from './text-table.ts';
import { withEngineRecords, workerServerType } from './with-runtime.ts';

/**
 * Registers `hanging`: hang detection now (markHangingServers) for every published type (or `--type`'s only).
 * Prints the servers it marked, as a table (name, type, the status it hung in, since when) or a JSON array of
 * HungServer with `--json`; exits 0 also when it marked none. An unknown type exits 2 with nothing changed.
 */
export function registerHangingCommand(program: Command): void {
  program
    .command('hanging')
    .description('Detect hung servers now: mark hanging every server new, starting, rebooting, stopping or deleting longer than its type\'s timeout (its type\'s policy and replacement follow).')
    .option('-t, --type <type>', 'only this server type')
    .option('--json', 'print the servers marked as JSON')
    .addHelpText('after', '\nExamples:\n  $ npx dynamic-servers hanging\n  $ npx dynamic-servers hanging --type worker --json')
    .action(async (options: { type?: string; json?: boolean }) => {
      const marked = await withEngineRecords(async (records) => {
        const found: HungServer[] = [];
        for (const type of chooseServerTypes(await records.serverTypes(), options.type)) found.push(...(await markHangingServers(records, workerServerType(type))));
        return found;
      });
      if (options.json) {
        process.stdout.write(JSON.stringify(marked, null, 2) + '\n');
        return;
      }
      if (marked.length === 0) {
        process.stdout.write('no hanging servers found\n');
        return;
      }
      const rows = marked.map((server) => [server.name, server.serverType, server.hungIn, server.since.toISOString(), `${server.timeoutSeconds} s`]);
      process.stdout.write(formatTable(['NAME', 'TYPE', 'HUNG IN', 'SINCE', 'TIMEOUT'], rows) + '\n');
    });
}
